-- Quarry's side of the demo: two accounts mapped to the retail roles, two teams, two datasets with
-- a glossary and example questions. Everything goes through the extension's SQL API, as a DBA would
-- do it. Passwords are set by the setup script (psql variables demo_password and emea_password).
\set ON_ERROR_STOP on
BEGIN;

SELECT quarry.create_account('demo@quarry.local', :'demo_password', 'Demo Analyst', 'retail_analyst') AS demo \gset
SELECT quarry.create_account('emea@quarry.local', :'emea_password', 'EMEA Sales Manager', 'retail_emea_manager') AS emea \gset

SELECT quarry.create_team('Analytics', :demo) AS analytics \gset
SELECT quarry.add_team_member(:analytics, :emea, 'member');
SELECT quarry.create_team('Finance', :demo) AS finance \gset

SELECT quarry.create_dataset(:analytics, 'Retail', ARRAY['retail'],
    'Two years of orders of an online and in-store retailer: customers, products, orders and order lines.')
    AS retail \gset
SELECT quarry.create_dataset(:finance, 'Revenue', ARRAY['retail.monthly_revenue', 'retail.regions'],
    'Monthly revenue and order counts per region.') AS revenue \gset

SELECT quarry.set_glossary_term(:retail, 'revenue',
    'Money from an order line: quantity * unit_price * (1 - discount). Order revenue is orders.total_amount. Cancelled and returned orders do not count.',
    ARRAY['sales', 'turnover', 'income']);
SELECT quarry.set_glossary_term(:retail, 'average order value',
    'Revenue divided by the number of orders that were not cancelled or returned.', ARRAY['AOV', 'basket size']);
SELECT quarry.set_glossary_term(:retail, 'active customer',
    'A customer with at least one order in the last 90 days.', ARRAY['active buyer']);
SELECT quarry.set_glossary_term(:retail, 'margin',
    'Revenue minus quantity * products.unit_cost.', ARRAY['profit', 'gross margin']);

-- The semantic model: derived from the catalog when the dataset was created, refined here with
-- the business definitions above and the words people use (in English, Chinese and Korean).
SELECT quarry.remove_semantic_item(:retail, 'table', NULL, 'order_details');     -- the base tables say it all
SELECT quarry.remove_semantic_item(:retail, 'table', NULL, 'monthly_revenue');
SELECT quarry.set_semantic_table(:retail, 'orders', ARRAY['order', 'purchase', 'purchases', 'sale', 'transactions'],
    time_dimension => 'ordered_at');
SELECT quarry.set_semantic_table(:retail, 'customers', ARRAY['customer', 'client', 'clients', 'buyer', 'buyers', 'shopper',
    'shoppers', 'account', 'accounts', 'people'], time_dimension => 'signed_up_on');
SELECT quarry.set_semantic_table(:retail, 'products', ARRAY['product', 'item', 'items', 'sku', 'skus', 'article', 'articles']);
SELECT quarry.set_semantic_table(:retail, 'categories', ARRAY['category', 'product category', 'product categories',
    '品类', '类别', '카테고리']);
SELECT quarry.set_semantic_table(:retail, 'regions', ARRAY['region', 'sales region', 'sales regions', 'area', 'areas',
    'territory', 'territories']);
SELECT quarry.set_semantic_table(:retail, 'order_lines', ARRAY['order line', 'line', 'lines', 'line item', 'line items',
    'order items', 'lines per order']);
SELECT quarry.set_time_dimension(:retail, 'orders', 'ordered_at', 'ordered_at', ARRAY['order date', 'ordered', 'placed',
    'date of order'], 'When the order was placed.');
SELECT quarry.set_time_dimension(:retail, 'customers', 'signed_up_on', 'signed_up_on', ARRAY['sign up', 'signed up',
    'sign-up', 'sign-ups', 'signups', 'joined', 'registered', 'registration', 'new customers', 'acquired'],
    'When the customer signed up.');

SELECT quarry.set_measure(:retail, 'order_lines', 'revenue',
    'sum(order_lines.quantity * order_lines.unit_price * (1 - order_lines.discount))',
    filter => $$orders.status NOT IN ('cancelled', 'returned')$$,
    synonyms => ARRAY['sales', 'revenues', 'turnover', 'income', 'gross sales', 'brought in', 'bring in', 'grossed',
                      'earned', 'takings', 'money', 'spend', 'spent', '销售额', '营业额', '收入', '营收', '매출', '매출액'],
    description => 'quantity * unit_price * (1 - discount) of order lines; cancelled and returned orders do not count',
    unit => 'USD', format => 'currency');
SELECT quarry.set_measure(:retail, 'orders', 'average order value', 'avg(orders.total_amount)',
    filter => $$orders.status NOT IN ('cancelled', 'returned')$$,
    synonyms => ARRAY['AOV', 'basket size', 'average basket', 'average order size', 'average order amount', '客单价', '객단가'],
    description => 'revenue divided by the number of orders that were not cancelled or returned',
    unit => 'USD', format => 'currency');
SELECT quarry.set_measure(:retail, 'order_lines', 'margin',
    'sum(order_lines.quantity * (order_lines.unit_price * (1 - order_lines.discount) - products.unit_cost))',
    filter => $$orders.status NOT IN ('cancelled', 'returned')$$,
    synonyms => ARRAY['profit', 'profits', 'gross margin', 'gross profit', '利润', '毛利', '이익', '마진'],
    description => 'revenue minus quantity * unit_cost, over orders that were not cancelled or returned',
    unit => 'USD', format => 'currency');
SELECT quarry.set_measure(:retail, 'order_lines', 'units sold', 'sum(order_lines.quantity)',
    synonyms => ARRAY['units', 'items sold', 'quantity sold', 'pieces sold', 'unit sales', '销量', '판매량', '판매 수량'],
    description => 'sum of quantity over every order line', format => 'integer');
SELECT quarry.set_measure(:retail, 'orders', 'orders', 'count(*)',
    synonyms => ARRAY['order count', 'orders count', 'number of orders', 'order volume', '订单数', '订单量', '주문 수', '주문 건수'],
    description => 'orders, whatever their status', format => 'integer');
SELECT quarry.set_measure(:retail, 'products', 'list price', 'products.unit_price',
    synonyms => ARRAY['price', 'prices', 'list prices', 'unit price', 'retail price', '标价', '价格', '정가', '가격'],
    description => 'the list price in USD', unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:retail, 'measure', 'products', 'unit_price');
SELECT quarry.set_measure(:retail, 'products', 'unit cost', 'products.unit_cost',
    synonyms => ARRAY['cost', 'costs', 'cost price', '成本', '원가'], description => 'what one unit costs us, in USD',
    unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:retail, 'measure', 'products', 'unit_cost');
SELECT quarry.set_measure(:retail, 'orders', 'order amount', 'orders.total_amount',
    synonyms => ARRAY['order value', 'amount', 'order amounts', 'order size', '订单金额', '주문 금액'],
    description => 'the sum of the order''s lines after discounts, in USD', unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:retail, 'measure', 'orders', 'total_amount');
SELECT quarry.set_measure(:retail, 'order_lines', 'discount', 'order_lines.discount',
    synonyms => ARRAY['discounts', 'discount rate', '折扣', '할인율'], description => 'the fraction off the unit price, 0 to 0.3');
SELECT quarry.set_measure(:retail, 'order_lines', 'quantity', 'order_lines.quantity',
    synonyms => ARRAY['quantities', 'units per line'], description => 'units on an order line');
SELECT quarry.remove_semantic_item(:retail, 'measure', 'order_lines', 'unit_price');

SELECT quarry.set_filter(:retail, 'customers', 'active customer',
    $$EXISTS (SELECT 1 FROM retail.orders o WHERE o.customer_id = customers.id AND o.ordered_at >= now() - interval '90 days')$$,
    ARRAY['active', 'active customers', 'active buyer', 'active buyers', 'active clients', '活跃', '活跃客户', '활성', '활성 고객'],
    'a customer with at least one order in the last 90 days');
SELECT quarry.set_filter(:retail, 'order_lines', 'discounted', 'order_lines.discount > 0',
    ARRAY['with a discount', 'got a discount', 'on discount', 'discounted lines', '打折', '할인된'],
    'order lines sold with a discount');
SELECT quarry.set_filter(:retail, 'products', 'on sale', 'products.active',
    ARRAY['active', 'available', 'currently sold', 'in the catalog', 'for sale', 'still sold', '在售', '판매 중'],
    'products that are still sold');
SELECT quarry.set_filter(:retail, 'products', 'delisted', 'NOT products.active',
    ARRAY['discontinued', 'not on sale', 'inactive', 'no longer sold', 'retired', '下架', '판매 중지'],
    'products that are no longer sold');
SELECT quarry.remove_semantic_item(:retail, 'filter', 'products', 'active');
SELECT quarry.remove_semantic_item(:retail, 'dimension', 'products', 'active');

SELECT quarry.set_dimension(:retail, 'orders', 'status', 'orders.status', ARRAY['order status', 'state', '状态', '상태'],
    'placed, shipped, delivered, returned or cancelled',
    value_synonyms => $${"placed": ["waiting to be shipped", "not shipped yet", "not yet shipped", "pending", "awaiting shipment",
                                    "unshipped", "待发货", "배송 대기"],
                        "cancelled": ["canceled", "cancellations", "cancel", "取消", "已取消", "취소", "취소된"],
                        "returned": ["returns", "return", "退货", "반품", "반품된"],
                        "shipped": ["in transit", "已发货", "배송 중"],
                        "delivered": ["completed", "fulfilled", "已送达", "배송 완료"]}$$);
SELECT quarry.set_dimension(:retail, 'orders', 'channel', 'orders.channel', ARRAY['sales channel', 'channels', '渠道', '채널'],
    'where the order was placed: web, store or phone',
    value_synonyms => $${"web": ["online", "website", "internet", "e-commerce", "ecommerce", "the web", "web shop", "网上", "线上", "网店", "웹", "온라인"],
                        "store": ["in-store", "in store", "shop", "shops", "the store", "stores", "retail store", "offline", "physical store",
                                  "门店", "实体店", "线下", "매장", "오프라인"],
                        "phone": ["telephone", "by phone", "phone orders", "call", "calls", "电话", "전화"]}$$);
SELECT quarry.set_dimension(:retail, 'customers', 'segment', 'customers.segment',
    ARRAY['segments', 'customer segment', 'customer type', 'type of customer', '细分市场', '客户类型', '세그먼트', '고객 유형'],
    'consumer, small business or enterprise',
    value_synonyms => $${"enterprise": ["enterprises", "corporate", "large companies", "企业", "기업"],
                        "small business": ["small businesses", "smb", "smbs", "小企业", "中小企业", "소기업", "중소기업"],
                        "consumer": ["consumers", "individuals", "private customers", "个人", "消费者", "개인", "소비자"]}$$);
SELECT quarry.set_dimension(:retail, 'customers', 'city', 'customers.city', ARRAY['cities', 'town', '城市', '도시'],
    'the city the customer is based in',
    value_synonyms => $${"London": ["伦敦", "런던"], "Berlin": ["柏林", "베를린"], "Paris": ["巴黎", "파리"], "Madrid": ["马德里", "마드리드"],
                        "Dubai": ["迪拜", "두바이"], "New York": ["NYC", "纽约", "뉴욕"], "Toronto": ["多伦多", "토론토"],
                        "Chicago": ["芝加哥", "시카고"], "Austin": ["奥斯汀", "오스틴"], "Seattle": ["西雅图", "시애틀"],
                        "Tokyo": ["东京", "도쿄"], "Singapore": ["新加坡", "싱가포르"], "Sydney": ["悉尼", "시드니"],
                        "Seoul": ["首尔", "서울"], "Mumbai": ["孟买", "뭄바이"], "São Paulo": ["Sao Paulo", "圣保罗", "상파울루"],
                        "Mexico City": ["墨西哥城", "멕시코시티"], "Buenos Aires": ["布宜诺斯艾利斯", "부에노스아이레스"],
                        "Bogotá": ["Bogota", "波哥大", "보고타"], "Lima": ["利马", "리마"]}$$);
SELECT quarry.set_dimension(:retail, 'regions', 'name', 'regions.name', ARRAY['region name', '地区', '区域', '지역'],
    'the region''s name',
    value_synonyms => $${"Europe, Middle East and Africa": ["EMEA", "Europe", "Europe Middle East and Africa", "欧洲", "欧洲中东非洲", "유럽"],
                        "North America": ["NA", "North American", "US and Canada", "北美", "북미"],
                        "Asia Pacific": ["APAC", "Asia", "Asia-Pacific", "亚太", "亚太地区", "아시아 태평양", "아태", "아시아"],
                        "Latin America": ["LATAM", "LatAm", "South America", "拉美", "拉丁美洲", "라틴 아메리카", "남미", "중남미"]}$$);
SELECT quarry.remove_semantic_item(:retail, 'dimension', 'regions', 'code');
SELECT quarry.set_dimension(:retail, 'categories', 'name', 'categories.name', ARRAY['category name'], 'the category''s name',
    value_synonyms => $${"Electronics": ["electronic", "electronics category", "电子", "电子产品", "전자", "전자제품"],
                        "Home & Kitchen": ["home and kitchen", "home kitchen", "家居厨房", "家居", "주방", "홈 앤 키친"],
                        "Books": ["book", "图书", "书籍", "도서", "책"], "Toys & Games": ["toys and games", "toys", "games", "玩具", "장난감"],
                        "Sports & Outdoors": ["sports and outdoors", "sports", "outdoors", "运动户外", "运动", "스포츠"],
                        "Beauty": ["美妆", "美容", "뷰티"], "Grocery": ["groceries", "food", "食品", "杂货", "식료품"],
                        "Clothing": ["clothes", "apparel", "fashion", "服装", "의류"]}$$);

SELECT quarry.set_relationship(:revenue, 'monthly_revenue_regions', 'monthly_revenue', 'regions', '[["region", "code"]]');
SELECT quarry.set_measure(:revenue, 'monthly_revenue', 'revenue', 'monthly_revenue.revenue',
    synonyms => ARRAY['sales', 'turnover', 'income', '销售额', '营业额', '매출'],
    description => 'revenue of shipped, delivered and placed orders, per month and region', unit => 'USD', format => 'currency');

SELECT quarry.add_example(:retail, 'Revenue by region last month',
$sql$SELECT r.name AS region, sum(o.total_amount) AS revenue
  FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id
 WHERE o.status NOT IN ('cancelled', 'returned')
   AND o.ordered_at >= date_trunc('month', now()) - interval '1 month'
   AND o.ordered_at < date_trunc('month', now())
 GROUP BY r.name ORDER BY revenue DESC$sql$);
SELECT quarry.add_example(:retail, 'Top 10 products by units sold',
$sql$SELECT p.name, sum(l.quantity) AS units
  FROM retail.order_lines l JOIN retail.products p ON p.id = l.product_id
 GROUP BY p.name ORDER BY units DESC LIMIT 10$sql$);
SELECT quarry.add_example(:retail, 'Orders per month',
$sql$SELECT date_trunc('month', ordered_at)::date AS month, count(*) AS orders
  FROM retail.orders GROUP BY 1 ORDER BY 1$sql$);

COMMIT;
