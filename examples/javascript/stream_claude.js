// AWS's InvokeModelWithResponseStream example for JavaScript (AWS SDK v3), brought up to date: a Messages
// body for a current Claude model called through an inference profile, the text deltas printed as they
// arrive. See ../README.md for how it differs from the Python program.
//
// The endpoint is the SDK's own choice: AWS, or AWS_ENDPOINT_URL_BEDROCK_RUNTIME when it is set (the SDK
// reads that variable itself), so the same program runs against the course's local endpoint and against
// Bedrock unchanged.
//
//   node stream_claude.js [--http1] [PROMPT [MODEL_ID]]
//
// The SDK talks HTTP/2 to Bedrock Runtime by default; --http1 picks its HTTP/1.1 handler instead, for a
// proxy or endpoint that speaks only HTTP/1.1. The course's local endpoint serves both.
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";

// A current model through a global cross-region inference profile: newer Claude models are served through
// inference profiles only (AWS's published example still names Claude 3 Haiku, retired on Bedrock).
export const DEFAULT_MODEL_ID = "global.anthropic.claude-haiku-4-5-20251001-v1:0";
export const DEFAULT_PROMPT = "Describe the purpose of a 'hello world' program in one line.";

/**
 * Sends the prompt to the model, writes each text delta as it arrives and returns the whole text.
 * @param {BedrockRuntimeClient} client
 * @param {string} modelId
 * @param {string} prompt
 * @param {(text: string) => void} write
 * @returns {Promise<string>}
 */
export async function streamClaude(client, modelId, prompt, write) {
  // The Messages request body (Anthropic's format on Bedrock).
  const body = {
    anthropic_version: "bedrock-2023-05-31",
    max_tokens: 512,
    messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
  };
  const response = await client.send(
    new InvokeModelWithResponseStreamCommand({
      modelId,
      contentType: "application/json",
      body: JSON.stringify(body),
    }),
  );

  const decoder = new TextDecoder();
  let text = "";
  // An exception frame in the middle of the stream is thrown here, as its typed exception.
  for await (const event of response.body) {
    if (!event.chunk) continue;
    const chunk = JSON.parse(decoder.decode(event.chunk.bytes));
    if (chunk.type === "content_block_delta" && chunk.delta.type === "text_delta") {
      write(chunk.delta.text);
      text += chunk.delta.text;
    }
  }
  return text;
}

async function main(args) {
  const http1 = args.includes("--http1");
  const [prompt = DEFAULT_PROMPT, modelId = DEFAULT_MODEL_ID] = args.filter((arg) => arg !== "--http1");

  const client = new BedrockRuntimeClient({
    region: process.env.AWS_REGION ?? "us-east-1",
    ...(http1 ? { requestHandler: new NodeHttpHandler() } : {}),
  });
  try {
    // Writes to a pipe or a terminal are synchronous in Node on Linux: each delta shows at once.
    await streamClaude(client, modelId, prompt, (piece) => process.stdout.write(piece));
    process.stdout.write("\n");
  } catch (error) {
    process.stdout.write("\n");
    if (error instanceof BedrockRuntimeServiceException) {
      // The SDK's typed exception class, e.g. ResourceNotFoundException, with Bedrock's own message.
      console.error(`ERROR: Can't invoke '${modelId}'. Reason: ${error.constructor.name}: ${error.message}`);
    } else {
      console.error(`ERROR: Can't invoke '${modelId}'. Reason: ${error}`);
    }
    process.exitCode = 1;
  } finally {
    client.destroy(); // closes the HTTP/2 session, which would otherwise keep the process alive a while
  }
}

await main(process.argv.slice(2));
