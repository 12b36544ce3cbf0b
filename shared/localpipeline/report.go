package localpipeline

import (
	"fmt"
	"io"
	"strings"
)

// Report is what a run did, stage by stage.
type Report struct {
	EventsGenerated int             `json:"events_generated"`
	Transform       TransformReport `json:"transform"`
	Indexer         IndexerReport   `json:"indexer"`
	Alerts          AlertsReport    `json:"alerts"`
	Lake            LakeReport      `json:"lake"`
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
	if l := rep.Lake; l.ParquetFiles > 0 {
		fmt.Fprintf(w, "  lake/ (Parquet)         %d files, %d rows, %d bytes (raw/ gzip NDJSON: %d bytes); %d lake invocations, %d deliveries retried\n",
			l.ParquetFiles, l.Rows, l.ParquetBytes, l.RawBytes, l.Invocations, l.ObjectsRetried)
	}
	if ix := rep.Indexer; ix.Backend != "" {
		fmt.Fprintf(w, "  indexer (%s)%s %d invocations (%d retried): %d documents indexed, %d dead-lettered %v\n",
			ix.Backend, strings.Repeat(" ", max(1, 12-len(ix.Backend))), ix.Invocations, ix.Retried, ix.Indexed, ix.DeadLettered, ix.DeadReasons)
		if ix.FallbackCause != "" {
			fmt.Fprintf(w, "                          (local OpenSearch node unavailable: %s)\n", ix.FallbackCause)
		}
		if ix.Search != "" {
			fmt.Fprintf(w, "  search (while running)  %s\n", ix.Search)
		}
	}
	if a := rep.Alerts; a.Invocations > 0 {
		fmt.Fprintf(w, "  alerting                %d security events (each delivered twice), %d CloudTrail payloads via logs, %d alarm notifications; %d invocations (%d failed and retried)\n",
			a.SecurityEvents, a.CloudTrailPayloads, a.AlarmNotifications, a.Invocations, a.FailedInvocations)
		fmt.Fprintf(w, "  alerts                  %d paged (%d repeats deduplicated by alias); open %s; closed %s; %d SNS messages\n",
			a.Pages, a.Deduplicated, byPriority(a.Open), byPriority(a.Closed), a.SNSMessages)
	}
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
	r.ledger.indexChecked = rep.Indexer.Backend != ""
	rep.Problems = r.ledger.Problems()
	return rep, r.writeJSON("report.json", rep)
}

func byPriority(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, p := range []string{"P1", "P2", "P3", "P4", "P5"} {
		if m[p] > 0 {
			parts = append(parts, fmt.Sprintf("%s×%d", p, m[p]))
		}
	}
	return strings.Join(parts, " ")
}
