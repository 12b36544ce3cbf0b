package localpipeline

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

// Ledger follows every generated event to its end, so a run can prove that
// nothing was lost and nothing duplicated.
type Ledger struct {
	events      map[string]*eventFate
	corrupt     int // records that can only end as ProcessingFailed
	directLines int // lines put straight into the stream (ids made by transform)
	directSeen  int
	// indexing is known per id when the backend can list its documents;
	// against a real node only the total is known.
	indexedCount int
	indexChecked bool
	perIDIndex   bool
	// alerting: alerts per alias (more than one means paged twice)
	pagesByAlias map[string]int
	creates      int
	lakeChecked  bool
	directInLake int
}

func (l *Ledger) inLake(id string) {
	if f, ok := l.events[id]; ok {
		f.Lake++
	} else {
		l.directInLake++
	}
}

type eventFate struct {
	Raw     int // times it reached raw/
	Indexed int // documents in OpenSearch with its id (0 or 1: _id is the id)
	Dead    int // dead-letter lines naming it
	Lake    int // rows in the lake's Parquet with its id
}

func newLedger() *Ledger { return &Ledger{events: map[string]*eventFate{}} }

func (l *Ledger) generated(evs []cwlogs.LogEvent) {
	for _, e := range evs {
		l.events[e.ID] = &eventFate{}
	}
}

// raw records the events of one Ok record's NDJSON.
func (l *Ledger) raw(ndjson []byte) error {
	for _, line := range bytes.Split(bytes.TrimSuffix(ndjson, []byte("\n")), []byte("\n")) {
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("transform wrote a line that is not JSON: %w", err)
		}
		if f, ok := l.events[rec.ID]; ok {
			f.Raw++
		} else {
			l.directSeen++
		}
	}
	return nil
}

func (l *Ledger) indexed(id string) {
	l.perIDIndex = true
	if f, ok := l.events[id]; ok {
		f.Indexed++
	}
}

func (l *Ledger) deadLettered(id string) {
	if f, ok := l.events[id]; ok {
		f.Dead++
	}
}

// Problems lists every event not accounted for exactly once.
func (l *Ledger) Problems() []string {
	var out []string
	lost, dup := 0, 0
	for id, f := range l.events {
		switch {
		case f.Raw == 0:
			lost++
			if lost <= 5 {
				out = append(out, "lost before raw/: "+id)
			}
		case f.Raw > 1:
			dup++
			if dup <= 5 {
				out = append(out, fmt.Sprintf("in raw/ %d times: %s", f.Raw, id))
			}
		}
	}
	if lost > 5 || dup > 5 {
		out = append(out, fmt.Sprintf("%d lost and %d duplicated in all", lost, dup))
	}
	if l.indexChecked {
		out = append(out, l.indexProblems()...)
	}
	if l.lakeChecked {
		bad := 0
		for id, f := range l.events {
			if f.Lake != 1 {
				bad++
				if bad <= 5 {
					out = append(out, fmt.Sprintf("in the lake %d times: %s", f.Lake, id))
				}
			}
		}
		if bad > 5 {
			out = append(out, fmt.Sprintf("%d events not in the lake exactly once", bad))
		}
		if l.directInLake != l.directLines {
			out = append(out, fmt.Sprintf("%d direct-put lines in the lake, want %d", l.directInLake, l.directLines))
		}
	}
	for alias, n := range l.pagesByAlias {
		if n > 1 {
			out = append(out, fmt.Sprintf("alias %s paged %d times", alias, n))
		}
	}
	if l.directSeen != l.directLines {
		out = append(out, fmt.Sprintf("%d direct-put lines reached raw/, want %d", l.directSeen, l.directLines))
	}
	return out
}

// indexProblems: every event is in the index exactly once or dead-lettered
// with a reason, never both.
func (l *Ledger) indexProblems() []string {
	var out []string
	if !l.perIDIndex {
		want := 0
		for _, f := range l.events {
			if f.Dead == 0 {
				want++
			}
		}
		if l.indexedCount != want {
			out = append(out, fmt.Sprintf("index holds %d documents, want %d (events not dead-lettered)", l.indexedCount, want))
		}
		return out
	}
	missing, both := 0, 0
	for id, f := range l.events {
		switch {
		case f.Indexed == 0 && f.Dead == 0:
			missing++
			if missing <= 5 {
				out = append(out, "neither indexed nor dead-lettered: "+id)
			}
		case f.Indexed > 0 && f.Dead > 0:
			both++
			if both <= 5 {
				out = append(out, "indexed and also dead-lettered: "+id)
			}
		}
	}
	if missing > 5 || both > 5 {
		out = append(out, fmt.Sprintf("%d missing from the index and %d both indexed and dead-lettered", missing, both))
	}
	return out
}
