#!/usr/bin/env bash
# The remote databases that sources (foreign data wrappers) are tested against, run as unprivileged
# processes next to the private cluster (under its $QUARRY_PG_HOME), each with the retail demo's data:
#   - a second PostgreSQL cluster WITHOUT the Quarry extension (standing in for a managed one),
#     port QUARRY_REMOTE_PG_PORT (54331), database "shop", with row-level security of its own:
#     remote user shop_all reads every row, shop_emea only EMEA's customers, orders and lines;
#   - a MariaDB server (Debian's mariadb-server, real users, no --skip-grant-tables), port
#     QUARRY_MARIADB_PORT (54332), database "shop", remote user shop_all.
#   remotes.sh start   create them if needed, start them, load the data once
#   remotes.sh stop    stop them (data is kept)
#   remotes.sh env     print the variables the tests read
# The private cluster must exist (cluster.sh start). Passwords: .quarry/remotes.env (mode 0600).
source "$(dirname "$0")/common.sh"

QUARRY_REMOTE_PG_PORT="${QUARRY_REMOTE_PG_PORT:-54331}"
QUARRY_MARIADB_PORT="${QUARRY_MARIADB_PORT:-54332}"
PGHOME="$QUARRY_PG_HOME"
RPG="$PGHOME/remote-pg"
MDB="$PGHOME/mariadb"
MARIADBD="${MARIADBD:-/usr/sbin/mariadbd}"

[ -d "$PGHOME" ] || die "$PGHOME is missing: start the private cluster first (scripts/cluster.sh start)"

remote_secrets() {
  local file="$QUARRY_STATE/remotes.env"
  if [ ! -f "$file" ]; then
    ( umask 077
      printf 'QUARRY_REMOTE_ALL_PASSWORD=all-%s\n' "$(random_text 16)"
      printf 'QUARRY_REMOTE_EMEA_PASSWORD=emea-%s\n' "$(random_text 16)"
    ) > "$file.tmp"
    mv "$file.tmp" "$file"
  fi
  # shellcheck disable=SC1090
  source "$file"
}

rpsql() {
  PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h "$RPG/run" -p "$QUARRY_REMOTE_PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

rpg_running() {
  [ -f "$RPG/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$RPG/data" status >/dev/null 2>&1
}

start_remote_pg() {
  if [ ! -f "$RPG/data/PG_VERSION" ]; then
    say "creating the remote PostgreSQL cluster (no Quarry) in $RPG, port $QUARRY_REMOTE_PG_PORT"
    as_pg install -d -m 0700 "$RPG" "$RPG/data" "$RPG/run"
    as_pg "$PG_BIN/initdb" -D "$RPG/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    local me; me="$(id -un)"
    as_pg sh -c "printf 'remote  %s  postgres\nremote  root  postgres\nremote  %s  postgres\n' '$QUARRY_PG_USER' '$me' > '$RPG/data/pg_ident.conf'"
    as_pg sh -c "printf 'local all all peer map=remote\nhost all all 127.0.0.1/32 scram-sha-256\n' > '$RPG/data/pg_hba.conf'"
    as_pg sh -c "printf \"listen_addresses = '127.0.0.1'\nport = $QUARRY_REMOTE_PG_PORT\nunix_socket_directories = '$RPG/run'\nmax_connections = 100\nshared_buffers = 64MB\n\" >> '$RPG/data/postgresql.conf'"
  fi
  if ! rpg_running; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$QUARRY_REMOTE_PG_PORT") 2>/dev/null; then
      die "port $QUARRY_REMOTE_PG_PORT is taken by another program; set QUARRY_REMOTE_PG_PORT to a free port"
    fi
    say "starting the remote PostgreSQL on 127.0.0.1:$QUARRY_REMOTE_PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$RPG/data" -l "$RPG/postgresql.log" -o "-p $QUARRY_REMOTE_PG_PORT" -w -t 60 start >/dev/null \
      || { tail -n 20 "$RPG/postgresql.log" >&2; die "the remote PostgreSQL did not start"; }
  fi
  # The demo's data, loaded the same day as the local one: the same rows (it is deterministic).
  if [ -z "$(rpsql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'shop'")" ]; then
    say "loading the retail demo into the remote PostgreSQL"
    rpsql -d postgres -c "CREATE DATABASE shop"
    rpsql -d shop -f "$QUARRY_ROOT/sql/demo/retail.sql" >/dev/null
  fi
  # Its own users: shop_all reads everything; shop_emea is held to EMEA's rows by the remote's
  # row-level security (the demo's policies, here on the remote side).
  rpsql -d shop -v all_pw="$QUARRY_REMOTE_ALL_PASSWORD" -v emea_pw="$QUARRY_REMOTE_EMEA_PASSWORD" <<'SQL' >/dev/null
SELECT 'CREATE ROLE shop_all LOGIN' WHERE to_regrole('shop_all') IS NULL \gexec
SELECT 'CREATE ROLE shop_emea LOGIN' WHERE to_regrole('shop_emea') IS NULL \gexec
SELECT format('ALTER ROLE shop_all LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'all_pw') \gexec
SELECT format('ALTER ROLE shop_emea LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'emea_pw') \gexec
GRANT retail_analyst TO shop_all;
GRANT retail_emea_manager TO shop_emea;
SQL
}

mdb_sql() {
  as_pg /usr/bin/mariadb --no-defaults --socket="$MDB/run/mysqld.sock" -u "$QUARRY_PG_USER" "$@"
}

mdb_running() {
  [ -S "$MDB/run/mysqld.sock" ] && as_pg /usr/bin/mariadb-admin --no-defaults --socket="$MDB/run/mysqld.sock" \
    -u "$QUARRY_PG_USER" ping >/dev/null 2>&1
}

start_mariadb() {
  [ -x "$MARIADBD" ] || die "$MARIADBD is missing: scripts/deps.sh installs mariadb-server"
  if [ ! -d "$MDB/data/mysql" ]; then
    say "creating the MariaDB data directory in $MDB"
    as_pg install -d -m 0700 "$MDB" "$MDB/data" "$MDB/run"
    # The OS user that runs it gets a MariaDB account of the same name, by its Unix socket only.
    as_pg /usr/bin/mariadb-install-db --no-defaults --datadir="$MDB/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$MDB/install.log" 2>&1 || { tail -n 20 "$MDB/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  if ! mdb_running; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$QUARRY_MARIADB_PORT") 2>/dev/null; then
      die "port $QUARRY_MARIADB_PORT is taken by another program; set QUARRY_MARIADB_PORT to a free port"
    fi
    say "starting MariaDB on 127.0.0.1:$QUARRY_MARIADB_PORT"
    as_pg sh -c "nohup '$MARIADBD' --no-defaults --datadir='$MDB/data' --port=$QUARRY_MARIADB_PORT --bind-address=127.0.0.1 \
      --socket='$MDB/run/mysqld.sock' --pid-file='$MDB/run/mysqld.pid' --log-error='$MDB/mariadb.log' \
      --skip-name-resolve --local-infile=1 --innodb-buffer-pool-size=64M >/dev/null 2>&1 &"
    local i
    for i in $(seq 1 60); do mdb_running && break; sleep 1; done
    mdb_running || { tail -n 20 "$MDB/mariadb.log" >&2; die "MariaDB did not start"; }
  fi
  if [ -z "$(mdb_sql -N -e "SHOW DATABASES LIKE 'shop'")" ]; then
    say "loading the retail demo into MariaDB"
    local load="$MDB/load"
    as_pg install -d -m 0700 "$load"
    # The same rows as the remote PostgreSQL's; times in UTC.
    local q
    for q in \
      "regions:SELECT id, code, name FROM retail.regions" \
      "categories:SELECT id, name FROM retail.categories" \
      "products:SELECT id, sku, name, category_id, unit_price, unit_cost, active::int FROM retail.products" \
      "customers:SELECT id, name, email, region_id, city, segment, signed_up_on FROM retail.customers" \
      "orders:SELECT id, customer_id, region_id, to_char(ordered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), status, channel, total_amount FROM retail.orders" \
      "order_lines:SELECT order_id, line_no, product_id, quantity, unit_price, discount FROM retail.order_lines"; do
      rpsql -d shop -c "\\copy (${q#*:}) TO STDOUT WITH (FORMAT csv)" | as_pg sh -c "cat > '$load/${q%%:*}.csv'"
    done
    mdb_sql --local-infile=1 >/dev/null <<SQL
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
USE shop;
CREATE TABLE regions (id smallint PRIMARY KEY, code varchar(10) NOT NULL UNIQUE, name varchar(100) NOT NULL);
CREATE TABLE categories (id smallint PRIMARY KEY, name varchar(100) NOT NULL UNIQUE);
CREATE TABLE products (id int PRIMARY KEY, sku varchar(20) NOT NULL UNIQUE, name varchar(200) NOT NULL,
  category_id smallint NOT NULL, unit_price decimal(10,2) NOT NULL,
  unit_cost decimal(10,2) NOT NULL, active boolean NOT NULL,
  FOREIGN KEY (category_id) REFERENCES categories (id));
CREATE TABLE customers (id int PRIMARY KEY, name varchar(200) NOT NULL, email varchar(200) NOT NULL UNIQUE,
  region_id smallint NOT NULL, city varchar(100) NOT NULL, segment varchar(30) NOT NULL, signed_up_on date NOT NULL,
  FOREIGN KEY (region_id) REFERENCES regions (id));
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, region_id smallint NOT NULL,
  ordered_at datetime(6) NOT NULL, status varchar(20) NOT NULL, channel varchar(10) NOT NULL,
  total_amount decimal(12,2) NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id), FOREIGN KEY (region_id) REFERENCES regions (id));
CREATE TABLE order_lines (order_id int NOT NULL, line_no smallint NOT NULL, product_id int NOT NULL,
  quantity int NOT NULL, unit_price decimal(10,2) NOT NULL, discount decimal(4,2) NOT NULL,
  PRIMARY KEY (order_id, line_no),
  FOREIGN KEY (order_id) REFERENCES orders (id), FOREIGN KEY (product_id) REFERENCES products (id));
SET foreign_key_checks = 0;
LOAD DATA LOCAL INFILE '$load/regions.csv' INTO TABLE regions FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
LOAD DATA LOCAL INFILE '$load/categories.csv' INTO TABLE categories FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
LOAD DATA LOCAL INFILE '$load/products.csv' INTO TABLE products FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
LOAD DATA LOCAL INFILE '$load/customers.csv' INTO TABLE customers FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
LOAD DATA LOCAL INFILE '$load/orders.csv' INTO TABLE orders FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
LOAD DATA LOCAL INFILE '$load/order_lines.csv' INTO TABLE order_lines FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"';
SET foreign_key_checks = 1;
ANALYZE TABLE regions, categories, products, customers, orders, order_lines;
SQL
    as_pg rm -rf "$load"
  fi
  # Real users with passwords (TCP from 127.0.0.1).
  mdb_sql <<SQL
CREATE USER IF NOT EXISTS 'shop_all'@'127.0.0.1' IDENTIFIED BY '$QUARRY_REMOTE_ALL_PASSWORD';
ALTER USER 'shop_all'@'127.0.0.1' IDENTIFIED BY '$QUARRY_REMOTE_ALL_PASSWORD';
GRANT SELECT ON shop.* TO 'shop_all'@'127.0.0.1';
SQL
}

stop_all() {
  if rpg_running; then say "stopping the remote PostgreSQL"; as_pg "$PG_BIN/pg_ctl" -D "$RPG/data" -m fast -w stop >/dev/null; fi
  if mdb_running; then
    say "stopping MariaDB"
    as_pg /usr/bin/mariadb-admin --no-defaults --socket="$MDB/run/mysqld.sock" -u "$QUARRY_PG_USER" shutdown
  fi
}

print_env() {
  remote_secrets
  printf '%s=%q\n' \
    QUARRY_E2E_REMOTE_PG_PORT "$QUARRY_REMOTE_PG_PORT" \
    QUARRY_E2E_MARIADB_PORT "$QUARRY_MARIADB_PORT" \
    QUARRY_E2E_REMOTE_ADMIN "host=$RPG/run port=$QUARRY_REMOTE_PG_PORT user=postgres dbname=shop" \
    QUARRY_E2E_REMOTE_ALL_PASSWORD "$QUARRY_REMOTE_ALL_PASSWORD" \
    QUARRY_E2E_REMOTE_EMEA_PASSWORD "$QUARRY_REMOTE_EMEA_PASSWORD"
}

case "${1:-}" in
  start) remote_secrets; start_remote_pg; start_mariadb ;;
  stop) stop_all ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
