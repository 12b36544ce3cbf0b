// Package lambdaruntime runs a Lambda custom-runtime bootstrap (for example a
// provided.al2023 binary built with aws-lambda-go and -tags lambda.norpc)
// locally, by serving the Lambda Runtime API (version 2018-06-01) to it.
// It stands in for AWS's runtime interface emulator where Docker is not
// available.
//
// Usage:
//
//	fn, err := lambdaruntime.New(lambdaruntime.Config{
//		Bootstrap: "build/transform/bootstrap",
//		Timeout:   60 * time.Second,
//		Env:       []string{"AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000"},
//		Output:    os.Stderr,
//	})
//	if err != nil { ... }
//	defer fn.Close()
//	res, err := fn.Invoke(ctx, event)  // err: emulator trouble, ctx, ErrClosed
//	if res.FunctionError { ... }       // or: if err := res.Err(); err != nil
//
// # Execution model
//
// A Function is one execution environment. The first Invoke starts the
// process (a cold start: Result.Cold, Result.InitDuration); later Invokes
// reuse it (warm). Invocations are serialised. The process gets the
// environment Lambda sets (AWS_LAMBDA_FUNCTION_NAME, AWS_REGION,
// AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023, _HANDLER, TZ=:UTC,
// AWS_LAMBDA_LOG_FORMAT=JSON, ...), PATH from the host, and Config.Env on
// top; nothing else is inherited.
//
// An invocation that overruns Config.Timeout gets ErrorTypeTimeout
// ("Sandbox.Timedout") and the whole process group is killed; a process that
// exits before answering gives ErrorTypeExit ("Runtime.ExitError", with the
// exit status); an /init/error post, a crash or InitTimeout before the first
// /next gives Result.InitError. After any of these the next Invoke starts a
// new process, cold again, as Lambda does.
//
// # Runtime API served
//
// Each process gets its own server on a free 127.0.0.1 port:
//
//	GET  /2018-06-01/runtime/invocation/next           200, blocks until an event is queued
//	POST /2018-06-01/runtime/invocation/{id}/response  202; 413 above MaxResponseSize
//	POST /2018-06-01/runtime/invocation/{id}/error     202
//	POST /2018-06-01/runtime/init/error                202; 403 after init
//
// An unknown or already answered request id is 400 InvalidRequestID, /next
// before the current event is answered is 403, a wrong method is 405. Error
// bodies are {"errorMessage","errorType"}. A function error's type is taken
// from the Lambda-Runtime-Function-Error-Type header, else from the body's
// errorType. Response bodies may be chunked; an error reported in the
// Lambda-Runtime-Function-Error-Type/-Body trailers of a response (how
// aws-lambda-go reports a failing response stream) is a function error.
//
// # Comparing responses
//
// EqualJSON compares two JSON documents semantically (key order, whitespace
// and number spelling ignored) and NormalizeJSON gives a stable text form for
// golden files; cmd/invoke's -expect and -update use them.
//
// Not emulated: memory limits, extensions, response streaming mode, SnapStart.
package lambdaruntime
