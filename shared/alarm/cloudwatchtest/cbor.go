package cloudwatchtest

import (
	"math/big"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/encoding/cbor"
)

// valueSerializer is a smithy.ShapeSerializer that builds a CBOR value tree,
// so the SDK's own output types (cloudwatch.DescribeAlarmsOutput, …) write
// the response body, member names and all, exactly as CloudWatch's Smithy
// RPC v2 CBOR protocol has them. Structures and maps become CBOR maps, lists
// CBOR lists, timestamps tag 1 (epoch seconds) as the protocol requires.
type valueSerializer struct {
	stack []*frame
	root  cbor.Value
}

type frameKind int

const (
	frameStruct frameKind = iota // keyed by member name; unions too
	frameList
	frameMap // keyed by WriteKey
)

type frame struct {
	kind   frameKind
	schema *smithy.Schema // the schema it was opened with: its member name is its key in the parent
	m      cbor.Map
	l      cbor.List
	key    string // the pending key of a map frame
}

var _ smithy.ShapeSerializer = (*valueSerializer)(nil)

func (s *valueSerializer) put(schema *smithy.Schema, v cbor.Value) {
	if len(s.stack) == 0 {
		s.root = v
		return
	}
	top := s.stack[len(s.stack)-1]
	switch top.kind {
	case frameList:
		top.l = append(top.l, v)
	case frameMap:
		top.m[top.key] = v
	default:
		top.m[schema.MemberName()] = v
	}
}

func (s *valueSerializer) open(schema *smithy.Schema, kind frameKind) {
	s.stack = append(s.stack, &frame{kind: kind, schema: schema, m: cbor.Map{}})
}

func (s *valueSerializer) close() {
	if len(s.stack) == 0 {
		return
	}
	f := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	if f.kind == frameList {
		s.put(f.schema, f.l)
		return
	}
	s.put(f.schema, f.m)
}

// Bytes returns the encoded value.
func (s *valueSerializer) Bytes() []byte {
	if s.root == nil {
		return nil
	}
	return cbor.Encode(s.root)
}

func (s *valueSerializer) WriteInt8(sc *smithy.Schema, v int8)   { s.WriteInt64(sc, int64(v)) }
func (s *valueSerializer) WriteInt16(sc *smithy.Schema, v int16) { s.WriteInt64(sc, int64(v)) }
func (s *valueSerializer) WriteInt32(sc *smithy.Schema, v int32) { s.WriteInt64(sc, int64(v)) }
func (s *valueSerializer) WriteInt64(sc *smithy.Schema, v int64) {
	if v < 0 {
		s.put(sc, cbor.NegInt(uint64(-v)))
		return
	}
	s.put(sc, cbor.Uint(uint64(v)))
}
func (s *valueSerializer) WriteFloat32(sc *smithy.Schema, v float32) { s.put(sc, cbor.Float32(v)) }
func (s *valueSerializer) WriteFloat64(sc *smithy.Schema, v float64) { s.put(sc, cbor.Float64(v)) }
func (s *valueSerializer) WriteBool(sc *smithy.Schema, v bool)       { s.put(sc, cbor.Bool(v)) }
func (s *valueSerializer) WriteString(sc *smithy.Schema, v string)   { s.put(sc, cbor.String(v)) }
func (s *valueSerializer) WriteBlob(sc *smithy.Schema, v []byte)     { s.put(sc, cbor.Slice(v)) }
func (s *valueSerializer) WriteTime(sc *smithy.Schema, v time.Time) {
	s.put(sc, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(v.UnixMilli()) / 1e3)})
}
func (s *valueSerializer) WriteBigInt(sc *smithy.Schema, v *big.Int) {
	s.put(sc, cbor.String(v.String()))
}
func (s *valueSerializer) WriteBigFloat(sc *smithy.Schema, v *big.Float) {
	s.put(sc, cbor.String(v.String()))
}
func (s *valueSerializer) WriteNil(sc *smithy.Schema) { s.put(sc, &cbor.Nil{}) }

// WriteDocument is not needed by the operations served here.
func (s *valueSerializer) WriteDocument(sc *smithy.Schema, _ document.Value) {
	s.put(sc, &cbor.Nil{})
}

func (s *valueSerializer) WriteUnion(schema, _ *smithy.Schema) { s.open(schema, frameStruct) }
func (s *valueSerializer) CloseUnion()                         { s.close() }
func (s *valueSerializer) WriteStruct(sc *smithy.Schema)       { s.open(sc, frameStruct) }
func (s *valueSerializer) CloseStruct()                        { s.close() }
func (s *valueSerializer) WriteList(sc *smithy.Schema)         { s.open(sc, frameList) }
func (s *valueSerializer) CloseList()                          { s.close() }
func (s *valueSerializer) WriteMap(sc *smithy.Schema)          { s.open(sc, frameMap) }
func (s *valueSerializer) WriteKey(_ *smithy.Schema, key string) {
	if n := len(s.stack); n > 0 {
		s.stack[n-1].key = key
	}
}
func (s *valueSerializer) CloseMap() { s.close() }
