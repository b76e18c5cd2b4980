// A client that offers its own model to Quarry through MCP sampling, with the official TypeScript
// SDK: it declares the sampling capability (or not, with "plain"), answers Quarry's
// sampling/createMessage requests with a scripted model that reads the semantic model from the
// system prompt and writes a semantic query, and asks one question with run_query.
// Prints one JSON line with what it saw; exits non-zero on any failure.
//
// usage: node sampling.mjs MCP_URL ACCESS_TOKEN QUESTION sample|plain
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [MCP_URL, TOKEN, QUESTION, MODE] = process.argv.slice(2);
const samples = MODE === 'sample';

const client = new Client({ name: 'quarry-e2e-sampling', version: '1.0.0' }, { capabilities: samples ? { sampling: {} } : {} });
const requests = [];
if (samples) {
  // The scripted model: it finds the revenue measure and the channel dimension in the semantic
  // model it was given, and answers with a semantic query over them.
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const { systemPrompt = '', messages, maxTokens, modelPreferences } = request.params;
    const question = messages.at(-1)?.content?.text ?? '';
    requests.push({ question, maxTokens, hints: modelPreferences?.hints?.map((h) => h.name) ?? [], system_length: systemPrompt.length });
    const measure = systemPrompt.match(/measure (order_lines\.revenue) =/)?.[1];
    const dimension = systemPrompt.match(/dimension (orders\.channel) =/)?.[1];
    const reply = measure && dimension
      ? { semantic_query: { measures: [{ measure }], group_by: [dimension], order: 'desc' } }
      : { cannot_answer: 'the semantic model has no revenue by channel' };
    return { role: 'assistant', model: 'scripted-e2e', stopReason: 'endTurn', content: { type: 'text', text: JSON.stringify(reply) } };
  });
}

const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
  requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
});
await client.connect(transport);
const result = await client.callTool({ name: 'run_query', arguments: { question: QUESTION } });
await client.close();
console.log(JSON.stringify({ requests, is_error: result.isError ?? false, answer: result.structuredContent ?? null, text: result.content?.[0]?.text ?? '' }));
