package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// bootstrap is the aws-lambda-go test function of shared/lambdaruntime,
// built as <tmp>/echo/bootstrap.
var bootstrap string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "invoke-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bootstrap = filepath.Join(dir, "echo", "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap,
		"../../shared/lambdaruntime/testdata/lambdafn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building test bootstrap: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func runInvoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, []string{"AWS_REGION=eu-west-1", "HOME=/root"}, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestColdWarmAndExpect(t *testing.T) {
	t.Parallel()
	event := writeFile(t, "event.json", `{"action":"data","data":{"b":[1,2],"a":"x"}}`)
	code, stdout, stderr := runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if want := "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"x\"\n}\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, re := range []string{
		`(?m)^echo: #1 cold \d+\.\d ms \(init \d+\.\d ms\)$`,
		`(?m)^echo: #2 warm \d+\.\d ms$`,
		`(?m)^echo: cold \d+\.\d ms \(init \d+\.\d ms\), warm \d+\.\d ms$`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", re, stderr)
		}
	}

	golden := filepath.Join(t.TempDir(), "sub", "want.json")
	if code, _, stderr := runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event, "-n", "1", "-expect", golden, "-update"); code != 0 {
		t.Fatalf("-update: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(golden); string(b) != "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n" {
		t.Errorf("golden file %q", b)
	}
	if code, _, stderr := runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event, "-n", "1", "-expect", golden); code != 0 || !strings.Contains(stderr, "response matches") {
		t.Fatalf("-expect: exit %d\n%s", code, stderr)
	}
	if err := os.WriteFile(golden, []byte(`{"a":"x","b":[1,3]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event, "-n", "1", "-expect", golden)
	if code != 1 || !strings.Contains(stderr, "-     3\n") || !strings.Contains(stderr, "+     2\n") {
		t.Errorf("mismatch: exit %d\n%s", code, stderr)
	}
}

func TestFunctionErrorExitsNonZero(t *testing.T) {
	t.Parallel()
	event := writeFile(t, "event.json", `{"action":"fail","message":"nope"}`)
	code, stdout, stderr := runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "echo: #1 function error BadInputError: nope\n") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if want := "{\n  \"errorMessage\": \"nope\",\n  \"errorType\": \"BadInputError\"\n}\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
}

func TestLongResponseIsCut(t *testing.T) {
	t.Parallel()
	event := writeFile(t, "event.json", `{"action":"big","size":10000}`)
	code, stdout, stderr := runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event, "-n", "1")
	if code != 0 || len(stdout) != maxShown+1 || !strings.Contains(stderr, "response cut at 4096 of 10002 bytes") {
		t.Errorf("exit %d, %d bytes out\n%s", code, len(stdout), stderr)
	}
	code, stdout, _ = runInvoke(t, "-fn", "echo", "-bin", bootstrap, "-event", event, "-n", "1", "-full")
	if code != 0 || len(stdout) != 10002+1 {
		t.Errorf("-full: exit %d, %d bytes out", code, len(stdout))
	}
}

func TestFunctionEnv(t *testing.T) {
	t.Parallel()
	host := []string{
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKID", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000",
		"AWS_LAMBDA_FUNCTION_NAME=host-fn", "AWS_EXECUTION_ENV=host", "TZ=Europe/Paris",
		"LOG_LEVEL=debug", "HOME=/root", "LAKE_BUCKET=from-host",
	}
	got, err := functionEnv(host, []string{"LAKE_BUCKET", "LOG_LEVEL=warn", "EMPTY="}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKID", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000",
		"LOG_LEVEL=debug", "LAKE_BUCKET=from-host", "LOG_LEVEL=warn", "EMPTY=",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("functionEnv:\n got %q\nwant %q", got, want)
	}

	got, err = functionEnv(host, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKID", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000",
		"LOG_LEVEL=debug", "HOME=/root", "LAKE_BUCKET=from-host",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("functionEnv -hostenv:\n got %q\nwant %q", got, want)
	}

	for _, flags := range [][]string{{"MISSING"}, {"=x"}, {"AWS_LAMBDA_RUNTIME_API=1.2.3.4:1"}} {
		if _, err := functionEnv(host, flags, false); err == nil {
			t.Errorf("functionEnv(-env %q) accepted", flags)
		}
	}
	if r := regionOf([]string{"AWS_DEFAULT_REGION=sa-east-1"}); r != "sa-east-1" {
		t.Errorf("regionOf = %q", r)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, "bad.json", `{"unterminated`)
	for _, args := range [][]string{
		{},
		{"-fn", "echo", "-n", "0"},
		{"-fn", "echo", "-update"},
		{"-fn", "echo", "-bin", bootstrap, "-event", bad},
		{"-fn", "nosuch", "-bin", filepath.Join(t.TempDir(), "bootstrap")},
		{"-fn", "echo", "extra"},
	} {
		if code, _, _ := runInvoke(t, args...); code != 2 {
			t.Errorf("invoke %q: exit %d, want 2", args, code)
		}
	}
}
