package example;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;

import org.json.JSONArray;
import org.json.JSONObject;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.model.BedrockRuntimeException;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamResponseHandler;

/**
 * AWS's InvokeModelWithResponseStream example for Java, brought up to date: a Messages body for a current
 * Claude model called through an inference profile, the text deltas printed as they arrive.
 *
 * <p>The endpoint is the SDK's own choice: AWS, or {@code AWS_ENDPOINT_URL_BEDROCK_RUNTIME} when it is set
 * (AWS SDK for Java v2 reads that variable itself), so the same jar runs against the course's local endpoint
 * and against Bedrock unchanged.
 *
 * <pre>java -jar target/stream-claude.jar [PROMPT [MODEL_ID]]</pre>
 */
public final class StreamClaude {

    /**
     * A current model through a global cross-region inference profile: newer Claude models are served through
     * inference profiles only (AWS's published example still names Claude 3 Haiku, retired on Bedrock).
     */
    static final String DEFAULT_MODEL_ID = "global.anthropic.claude-haiku-4-5-20251001-v1:0";

    static final String DEFAULT_PROMPT = "Describe the purpose of a 'hello world' program in one line.";

    /**
     * UTF-8 whatever the locale (Java 17 would otherwise encode for the platform's, often ASCII in CI), and
     * straight onto the file descriptor so that flush() puts each delta on the terminal at once.
     */
    private static final PrintStream OUT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    private StreamClaude() {
    }

    /** Sends the prompt to the model, prints each text delta as it arrives and returns the whole text. */
    static String streamClaude(BedrockRuntimeAsyncClient client, String modelId, String prompt) {
        // The Messages request body (Anthropic's format on Bedrock).
        JSONObject body = new JSONObject()
                .put("anthropic_version", "bedrock-2023-05-31")
                .put("max_tokens", 512)
                .put("messages", new JSONArray().put(new JSONObject()
                        .put("role", "user")
                        .put("content", new JSONArray().put(new JSONObject()
                                .put("type", "text")
                                .put("text", prompt)))));

        InvokeModelWithResponseStreamRequest request = InvokeModelWithResponseStreamRequest.builder()
                .modelId(modelId)
                .contentType("application/json")
                .body(SdkBytes.fromUtf8String(body.toString()))
                .build();

        StringBuilder text = new StringBuilder();
        InvokeModelWithResponseStreamResponseHandler handler = InvokeModelWithResponseStreamResponseHandler.builder()
                .subscriber(InvokeModelWithResponseStreamResponseHandler.Visitor.builder()
                        .onChunk(chunk -> {
                            JSONObject decoded = new JSONObject(chunk.bytes().asUtf8String());
                            if ("content_block_delta".equals(decoded.optString("type"))) {
                                JSONObject delta = decoded.getJSONObject("delta");
                                if ("text_delta".equals(delta.optString("type"))) {
                                    String piece = delta.getString("text");
                                    OUT.print(piece);
                                    OUT.flush();
                                    text.append(piece);
                                }
                            }
                        })
                        .build())
                .build();

        // join() rethrows an error before the stream or an exception frame inside it as CompletionException.
        client.invokeModelWithResponseStream(request, handler).join();
        return text.toString();
    }

    public static void main(String[] args) {
        String prompt = args.length > 0 ? args[0] : DEFAULT_PROMPT;
        String modelId = args.length > 1 ? args[1] : DEFAULT_MODEL_ID;
        String region = System.getenv().getOrDefault("AWS_REGION", "us-east-1");

        int status = 0;
        try (BedrockRuntimeAsyncClient client = BedrockRuntimeAsyncClient.builder()
                .region(Region.of(region))
                .build()) {
            streamClaude(client, modelId, prompt);
            OUT.println();
        } catch (CompletionException e) {
            OUT.println();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof BedrockRuntimeException serviceError) {
                // The SDK's typed exception, e.g. ResourceNotFoundException, with Bedrock's own message.
                System.err.printf("ERROR: Can't invoke '%s'. Reason: %s: %s%n", modelId,
                        serviceError.getClass().getSimpleName(), serviceError.awsErrorDetails().errorMessage());
            } else {
                System.err.printf("ERROR: Can't invoke '%s'. Reason: %s%n", modelId, cause);
            }
            status = 1;
        }
        System.exit(status);
    }
}
