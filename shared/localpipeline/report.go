package localpipeline

import (
	"fmt"
	"io"
)

// Report is what a run did, stage by stage.
type Report struct {
	EventsGenerated int             `json:"events_generated"`
	Transform       TransformReport `json:"transform"`
	Problems        []string        `json:"problems"`
}

// Print writes the report for a person.
func (rep *Report) Print(w io.Writer) {
	t := rep.Transform
	fmt.Fprintf(w, "\nTributary demo\n")
	fmt.Fprintf(w, "  events generated        %d\n", rep.EventsGenerated)
	fmt.Fprintf(w, "  transform               %d invocations, %d records: %d Ok, %d Dropped, %d ProcessingFailed; %d pieces re-ingested\n",
		t.Invocations, t.Records, t.Ok, t.Dropped, t.ProcessingFailed, t.ReingestedPieces)
	fmt.Fprintf(w, "  raw/                    %d objects, %d events\n", t.RawObjects, t.EventsInRaw)
	if len(rep.Problems) == 0 {
		fmt.Fprintf(w, "  accounting              every event exactly once: nothing lost, nothing duplicated\n")
	} else {
		fmt.Fprintf(w, "  accounting              %d problems:\n", len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "    - %s\n", p)
		}
	}
}

// Finish completes the report from the ledger and keeps it in the output
// folder as report.json.
func (r *Run) Finish() (*Report, error) {
	rep := &r.Report
	rep.EventsGenerated = len(r.ledger.events) + r.ledger.directLines
	rep.Transform.EventsInRaw = r.ledger.directSeen
	for _, f := range r.ledger.events {
		rep.Transform.EventsInRaw += f.Raw
	}
	rep.Problems = r.ledger.Problems()
	return rep, r.writeJSON("report.json", rep)
}
