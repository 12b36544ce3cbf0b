// Package b64 is standard base64 (RFC 4648, padded) for the hot paths:
// Firehose record data in and out of the transform, awslogs payloads into
// the indexer. It runs github.com/segmentio/asm/base64, whose AVX2 (x86-64)
// and NEON (Graviton) code encodes and decodes about ten times faster than
// encoding/base64 (BenchmarkEncode, BenchmarkDecode), and gives exactly
// encoding/base64's results: any input the fast decoder refuses is decoded
// again by encoding/base64, so accepted input and error messages are the
// standard library's (FuzzDecode holds the two to that).
package b64

import (
	stdbase64 "encoding/base64"
	"slices"

	"github.com/segmentio/asm/base64"
)

// EncodedLen is the length of the encoding of n bytes.
func EncodedLen(n int) int { return base64.StdEncoding.EncodedLen(n) }

// AppendEncode appends the encoding of src to dst.
func AppendEncode(dst, src []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, EncodedLen(len(src)))[:n+EncodedLen(len(src))]
	base64.StdEncoding.Encode(dst[n:], src)
	return dst
}

// AppendDecode appends the decoding of src to dst; on error dst is returned
// with what encoding/base64 decoded before the error, as its AppendDecode
// does.
func AppendDecode(dst, src []byte) ([]byte, error) {
	n := len(dst)
	dst = slices.Grow(dst, base64.StdEncoding.DecodedLen(len(src)))
	got, err := base64.StdEncoding.Decode(dst[n:n+base64.StdEncoding.DecodedLen(len(src))], src)
	if err == nil {
		return dst[:n+got], nil
	}
	// Line breaks, which encoding/base64 skips, or really corrupt input:
	// the standard library decides.
	return stdbase64.StdEncoding.AppendDecode(dst[:n], src)
}
