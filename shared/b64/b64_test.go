package b64

import (
	"bytes"
	stdbase64 "encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"
)

func sameAsStdlibDecode(t *testing.T, src []byte) {
	t.Helper()
	prefix := []byte("prefix")
	got, err := AppendDecode(bytes.Clone(prefix), src)
	want, wantErr := stdbase64.StdEncoding.AppendDecode(bytes.Clone(prefix), src)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
		t.Fatalf("AppendDecode(%q) = %q, %v; encoding/base64 gives %q, %v", src, got, err, want, wantErr)
	}
}

func TestRoundTripEveryLength(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 600; n++ {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		enc := AppendEncode([]byte("x"), src)
		if want := stdbase64.StdEncoding.AppendEncode([]byte("x"), src); !bytes.Equal(enc, want) {
			t.Fatalf("AppendEncode of %d bytes differs from encoding/base64", n)
		}
		sameAsStdlibDecode(t, enc[1:])
	}
}

func TestDecodeRejectsWhatTheStandardLibraryRejects(t *testing.T) {
	long := stdbase64.StdEncoding.EncodeToString(bytes.Repeat([]byte("log line\n"), 40))
	for _, src := range []string{
		"", "=", "QQ", "QQ=", "QQ==", "QUI=", "QUJD", "QUJD=", "QUJD====", "Q===", "QQ==QQ==",
		"QU!D", "QU-_", "QUJD\nRUZH", "QUJD\r\nRUZH", " QUJD", "QUJD ", "QR==", "\x00\x00\x00\x00",
		long, long[:len(long)-1], long[:77] + "*" + long[78:], long[:64] + "\n" + long[64:], long + "=",
	} {
		sameAsStdlibDecode(t, []byte(src))
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QQ==", "QU-_", "QUJD\nRUZH", stdbase64.StdEncoding.EncodeToString(make([]byte, 100))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sameAsStdlibDecode(t, src)
		enc := AppendEncode(nil, src)
		if want := stdbase64.StdEncoding.EncodeToString(src); string(enc) != want {
			t.Fatalf("AppendEncode(%q) = %q, want %q", src, enc, want)
		}
	})
}

var benchData = func() []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 90<<10) // a Firehose record's NDJSON, about
	for i := range b {
		b[i] = ' ' + byte(r.IntN(95))
	}
	return b
}()

// BenchmarkEncode and BenchmarkDecode: this package against encoding/base64.
func BenchmarkEncode(b *testing.B) {
	dst := make([]byte, 0, EncodedLen(len(benchData)))
	b.Run("b64", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			dst = AppendEncode(dst[:0], benchData)
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			dst = stdbase64.StdEncoding.AppendEncode(dst[:0], benchData)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	enc := AppendEncode(nil, benchData)
	dst := make([]byte, 0, len(benchData))
	b.Run("b64", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			dst, _ = AppendDecode(dst[:0], enc)
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			dst, _ = stdbase64.StdEncoding.AppendDecode(dst[:0], enc)
		}
	})
}
