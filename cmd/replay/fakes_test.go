package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeS3 is a bucket in memory; it lists two keys a page, so the paginator is exercised.
type fakeS3 struct {
	bucket  string
	objects map[string]fakeObject
}

type fakeObject struct {
	body     []byte
	modified time.Time
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if aws.ToString(in.Bucket) != f.bucket {
		return nil, errors.New("NoSuchBucket")
	}
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && k > aws.ToString(in.ContinuationToken) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &s3.ListObjectsV2Output{}
	for i, k := range keys {
		if i == 2 {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = aws.String(keys[1])
			break
		}
		o := f.objects[k]
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(o.body))),
			LastModified: aws.Time(o.modified), ETag: aws.String(`"etag-` + strconv.Itoa(len(o.body)) + `"`)})
	}
	return out, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	o, ok := f.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, errors.New("NoSuchKey: " + aws.ToString(in.Key))
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body))}, nil
}

// invocation is one call the fake Lambda saw.
type invocation struct {
	function string
	payload  string
	async    bool
}

type fakeLambda struct {
	mu    sync.Mutex
	calls []invocation
	// fail makes the call with this index (0-based) return a function error.
	fail map[int]bool
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.calls)
	f.calls = append(f.calls, invocation{aws.ToString(in.FunctionName), string(in.Payload), in.InvocationType == lambdatypes.InvocationTypeEvent})
	if f.fail[i] {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}, nil
	}
	if in.InvocationType == lambdatypes.InvocationTypeEvent {
		return &lambda.InvokeOutput{StatusCode: 202}, nil
	}
	return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"ok":true}`)}, nil
}

type fakeFirehose struct {
	batches [][][]byte
	// rejectFirst rejects the entry with this data on its first n attempts.
	rejectFirst map[string]int
	attempts    map[string]int
}

func (f *fakeFirehose) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	if f.attempts == nil {
		f.attempts = map[string]int{}
	}
	if len(in.Records) > maxBatchRecords {
		return nil, errors.New("ValidationException: too many records")
	}
	out := &firehose.PutRecordBatchOutput{}
	var accepted [][]byte
	for _, r := range in.Records {
		k := string(r.Data)
		f.attempts[k]++
		if f.attempts[k] <= f.rejectFirst[k] {
			out.FailedPutCount = aws.Int32(aws.ToInt32(out.FailedPutCount) + 1)
			out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{
				ErrorCode: aws.String("ServiceUnavailableException"), ErrorMessage: aws.String("Slow down.")})
			continue
		}
		accepted = append(accepted, r.Data)
		out.RequestResponses = append(out.RequestResponses, fhtypes.PutRecordBatchResponseEntry{RecordId: aws.String("id")})
	}
	f.batches = append(f.batches, accepted)
	return out, nil
}

// fakeSQS hides a received message for the rest of the test (its visibility timeout) unless the
// timeout is 0.
type fakeSQS struct {
	messages []sqstypes.Message
	deleted  map[string]bool
	inFlight map[string]bool
	lastVis  int32
}

func (f *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.inFlight == nil {
		f.inFlight = map[string]bool{}
	}
	f.lastVis = in.VisibilityTimeout
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range f.messages {
		h := aws.ToString(m.ReceiptHandle)
		if f.deleted[h] || f.inFlight[h] || len(out.Messages) >= int(in.MaxNumberOfMessages) {
			continue
		}
		out.Messages = append(out.Messages, m)
		f.inFlight[h] = in.VisibilityTimeout > 0
	}
	return out, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	if f.deleted == nil {
		f.deleted = map[string]bool{}
	}
	f.deleted[aws.ToString(in.ReceiptHandle)] = true
	return &sqs.DeleteMessageOutput{}, nil
}
