package transform

import (
	"fmt"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

// split cuts the record just processed into pieces that each transform to
// at most ChunkOutputBytes and stay under ChunkInputBytes before
// compression: smaller gzip'd CloudWatch Logs payloads with the same
// metadata and event ids (plain lines too, see linesEnvelope). Every event
// lands in exactly one piece.
func (h *Handler) split() ([][]byte, error) {
	env := h.curEnv
	var pieces [][]byte
	var evJSON []byte
	head := cwlogs.AppendJSON(nil, env, nil)
	headLen := len(head)
	start, inBytes, outBytes := 0, headLen, 0
	flush := func(end int) error {
		if end == start {
			return nil
		}
		p, err := cwlogs.Encode(env, env.LogEvents[start:end])
		if err != nil {
			return fmt.Errorf("re-encode events %d..%d: %w", start, end, err)
		}
		if !h.dec.Accepts(inBytes, len(p)) {
			// One line so long and so repetitive that the decoder would
			// take its payload for a gzip bomb. Plain lines go back as
			// they came (that line gets a new id on arrival); a
			// CloudWatch event cannot be this large.
			if env != &h.lines {
				return fmt.Errorf("re-encode events %d..%d: %d bytes compress to %d, beyond the decoder's limits", start, end, inBytes, len(p))
			}
			p = nil
			for _, e := range env.LogEvents[start:end] {
				p = append(append(p, e.Message...), '\n')
			}
		}
		pieces = append(pieces, p)
		start, inBytes, outBytes = end, headLen, 0
		return nil
	}
	for i := range env.LogEvents {
		e := &env.LogEvents[i]
		evJSON = cwlogs.AppendEventJSON(evJSON[:0], e)
		in := len(evJSON) + 1
		out := estimateOutput(env, e)
		if i > start && (inBytes+in > h.limits.ChunkInputBytes || outBytes+out > h.limits.ChunkOutputBytes) {
			if err := flush(i); err != nil {
				return nil, err
			}
		}
		inBytes += in
		outBytes += out
	}
	if err := flush(len(env.LogEvents)); err != nil {
		return nil, err
	}
	return pieces, nil
}

// estimateOutput bounds one event's NDJSON line: its metadata, the escaped
// message, and fields no larger than twice the message.
func estimateOutput(env *cwlogs.Envelope, e *cwlogs.LogEvent) int {
	const fixed = 256
	return fixed + len(env.Owner) + len(env.LogGroup) + len(env.LogStream) + len(e.ID) + 3*len(e.Message)
}
