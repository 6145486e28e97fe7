package conformance

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteTable prints the results as a Markdown table, ready to paste into a
// GitHub issue: probe, behaviour, expected, observed, agree. Then what was
// not probed and why. target says what was probed ("Twilio account AC…",
// "the embedded emulator").
func WriteTable(w io.Writer, target string, results []Result) {
	fmt.Fprintf(w, "flexhooks conformance against %s, %s\n\n", target, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "| probe | behaviour | expected | observed | agree |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range results {
		observed, agree := r.Observed, "yes"
		switch {
		case r.Skipped():
			observed, agree = r.Err.Error(), "—"
		case r.Err != nil:
			observed, agree = "could not probe: "+r.Err.Error(), "ERROR"
		case !r.Agree:
			agree = "NO"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n",
			r.Probe.Name, cell(r.Probe.Behaviour), cell(r.Probe.Expected), cell(observed), agree)
	}
	fmt.Fprintln(w, "\nNot probed:")
	for _, u := range NotProbed() {
		fmt.Fprintf(w, "- %s: %s\n", u.Behaviour, u.Why)
	}
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Disagreements counts the results that make a run fail: disagreements and
// probes that could not run.
func Disagreements(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Failed() {
			n++
		}
	}
	return n
}
