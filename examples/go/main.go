// Command stream-claude is AWS's InvokeModelWithResponseStream example for Go, brought up to date:
// a Messages body for a current Claude model called through an inference profile, the text deltas
// printed as they arrive. See ../README.md for how it differs from the Python program.
//
// The endpoint is the SDK's own choice: AWS, or AWS_ENDPOINT_URL_BEDROCK_RUNTIME when it is set
// (aws-sdk-go-v2 reads that variable itself), so the same binary runs against the course's local
// endpoint and against Bedrock unchanged.
//
//	stream-claude [PROMPT [MODEL_ID]]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

// A current model through a global cross-region inference profile: newer Claude models are served
// through inference profiles only (AWS's published example still names Claude 3 Haiku, retired on Bedrock).
const defaultModelID = "global.anthropic.claude-haiku-4-5-20251001-v1:0"

const defaultPrompt = "Describe the purpose of a 'hello world' program in one line."

// The Messages request body (Anthropic's format on Bedrock), not the retired Text Completions body.
type messagesRequest struct {
	AnthropicVersion string    `json:"anthropic_version"`
	MaxTokens        int       `json:"max_tokens"`
	Messages         []message `json:"messages"`
}

type message struct {
	Role    string        `json:"role"`
	Content []textContent `json:"content"`
}

type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// One decoded chunk of the stream: only the fields this program reads.
type streamChunk struct {
	Type  string `json:"type"`
	Delta struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"delta"`
}

// streamClaude sends prompt to modelID, writes each text delta to out as it arrives and returns the
// whole text.
func streamClaude(ctx context.Context, client *bedrockruntime.Client, modelID, prompt string, out io.Writer) (string, error) {
	body, err := json.Marshal(messagesRequest{
		AnthropicVersion: "bedrock-2023-05-31",
		MaxTokens:        512,
		Messages:         []message{{Role: "user", Content: []textContent{{Type: "text", Text: prompt}}}},
	})
	if err != nil {
		return "", err
	}
	output, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId:     aws.String(modelID),
		ContentType: aws.String("application/json"),
		Body:        body,
	})
	if err != nil {
		return "", err
	}
	stream := output.GetStream()
	defer stream.Close()

	var text []byte
	for event := range stream.Events() {
		chunk, ok := event.(*types.ResponseStreamMemberChunk)
		if !ok {
			continue
		}
		var decoded streamChunk
		if err := json.Unmarshal(chunk.Value.Bytes, &decoded); err != nil {
			return string(text), err
		}
		if decoded.Type == "content_block_delta" && decoded.Delta.Type == "text_delta" {
			fmt.Fprint(out, decoded.Delta.Text) // os.Stdout is unbuffered: each delta shows at once
			text = append(text, decoded.Delta.Text...)
		}
	}
	// An exception frame in the middle of the stream ends Events() and is reported here.
	return string(text), stream.Err()
}

func main() {
	prompt, modelID := defaultPrompt, defaultModelID
	if len(os.Args) > 1 {
		prompt = os.Args[1]
	}
	if len(os.Args) > 2 {
		modelID = os.Args[2]
	}
	ctx := context.Background()

	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: cannot load the AWS configuration: %v\n", err)
		os.Exit(1)
	}
	client := bedrockruntime.NewFromConfig(cfg)

	if _, err := streamClaude(ctx, client, modelID, prompt, os.Stdout); err != nil {
		fmt.Println()
		// The SDK's typed exception (e.g. *types.ResourceNotFoundException) sits inside the
		// operation error; smithy.APIError finds it whatever its type.
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			fmt.Fprintf(os.Stderr, "ERROR: Can't invoke '%s'. Reason: %T: %s\n", modelID, apiErr, apiErr.ErrorMessage())
		} else {
			fmt.Fprintf(os.Stderr, "ERROR: Can't invoke '%s'. Reason: %v\n", modelID, err)
		}
		os.Exit(1)
	}
	fmt.Println()
}
