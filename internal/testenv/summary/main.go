// Command summary reads the events of "go test -json" on standard input
// and prints what go test prints without -json (everything with -v) as
// the events arrive, then a summary: every failed and every skipped test
// with its reason, and a last line counting passed, failed and skipped
// tests. test.sh runs it, so that skips are seen rather than hidden
// behind "ok".
//
// Usage: go test -json ./... | summary [-v]
//
// It exits 0 unless it cannot read its input: the status of the run is
// go test's.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// event is one line of "go test -json" (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	// ImportPath is set on build events (build-output, build-fail).
	ImportPath string
}

// result is a test that failed or was skipped, with what it printed.
type result struct {
	pkg, test, reason string
}

// summary turns the events into go test's usual output and counts.
type summary struct {
	w       io.Writer
	verbose bool
	// module is trimmed from package paths in the summary.
	module string
	// buffered holds the output of each running test, and of each
	// package outside its tests, shown only if it fails.
	buffered map[string][]string
	// outputs holds each test's own output, for skip reasons.
	outputs map[string][]string
	counts  map[string]int
	skipped []result
	failed  []result
	// brokenPackages failed without a failed test: a build failure, a
	// panic outside a test, a timeout.
	brokenPackages []string
	packages       int
}

func newSummary(w io.Writer, verbose bool, module string) *summary {
	return &summary{w: w, verbose: verbose, module: module,
		buffered: map[string][]string{}, outputs: map[string][]string{}, counts: map[string]int{}}
}

func key(pkg, test string) string { return pkg + "\x00" + test }

// cut returns the parent of a subtest: "TestA/b" for "TestA/b/c", and
// whether test is a subtest.
func cut(test string) (parent, name string, sub bool) {
	i := strings.LastIndex(test, "/")
	if i < 0 {
		return "", test, false
	}
	return test[:i], test[i+1:], true
}

// framing reports whether line is one of the lines test2json's verbose
// stream adds, which go test without -v does not print.
func framing(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(strings.TrimSpace(line), p) {
			return true
		}
	}
	return false
}

func (s *summary) print(lines []string) {
	for _, l := range lines {
		fmt.Fprint(s.w, l)
	}
}

// add handles one event.
func (s *summary) add(e event) {
	if e.Action == "build-output" {
		fmt.Fprint(s.w, e.Output)
		return
	}
	if e.Action == "build-fail" {
		return
	}
	if s.verbose && e.Action == "output" {
		fmt.Fprint(s.w, e.Output)
	}
	switch {
	case e.Test != "" && e.Action == "output":
		k := key(e.Package, e.Test)
		s.outputs[k] = append(s.outputs[k], e.Output)
		if !framing(e.Output) {
			s.buffered[k] = append(s.buffered[k], e.Output)
		}
	case e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		s.counts[e.Action]++
		k := key(e.Package, e.Test)
		r := result{pkg: e.Package, test: e.Test, reason: reason(s.outputs[k])}
		delete(s.outputs, k)
		switch e.Action {
		case "skip":
			s.skipped = append(s.skipped, r)
		case "fail":
			s.failed = append(s.failed, r)
		}
		// A failed subtest's output goes with its parent's, shown if
		// that fails too; a passed or skipped one's is not shown, as
		// without -v.
		parent, _, sub := cut(e.Test)
		switch {
		case e.Action == "fail" && sub:
			pk := key(e.Package, parent)
			s.buffered[pk] = append(s.buffered[pk], s.buffered[k]...)
		case e.Action == "fail" && !s.verbose:
			s.print(s.buffered[k])
		}
		delete(s.buffered, k)
	case e.Test == "" && e.Action == "output":
		k := key(e.Package, "")
		line := e.Output
		if !strings.HasPrefix(line, "ok  ") && !strings.HasPrefix(line, "FAIL\t") && !strings.HasPrefix(line, "?   ") {
			s.buffered[k] = append(s.buffered[k], line)
			return
		}
		// The package's result line: what it printed outside tests, and
		// the output of tests that never ended (a panic, a timeout),
		// belongs before it when it failed.
		if strings.HasPrefix(line, "FAIL") && !s.verbose {
			for bk, lines := range s.buffered {
				if bk != k && strings.HasPrefix(bk, e.Package+"\x00") {
					s.print(lines)
				}
			}
			s.print(s.buffered[k])
		}
		if !s.verbose {
			fmt.Fprint(s.w, line)
		}
	case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		s.packages++
		if e.Action == "fail" && !s.failedTestIn(e.Package) {
			s.brokenPackages = append(s.brokenPackages, e.Package)
		}
		for bk := range s.buffered {
			if strings.HasPrefix(bk, e.Package+"\x00") {
				delete(s.buffered, bk)
			}
		}
	}
}

func (s *summary) failedTestIn(pkg string) bool {
	for _, r := range s.failed {
		if r.pkg == pkg {
			return true
		}
	}
	return false
}

// reason is what a skipped or failed test said, on one line: its output
// less the framing, the "--- SKIP" line and testenv's banner on standard
// error (which repeats the t.Skip message).
func reason(output []string) string {
	var parts []string
	for _, l := range output {
		t := strings.TrimSpace(l)
		switch {
		case t == "", framing(t), strings.HasPrefix(t, "--- "), strings.HasPrefix(t, "*** SKIPPING"):
			continue
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

func (s *summary) short(pkg string) string {
	if s.module != "" {
		if rest, ok := strings.CutPrefix(pkg, s.module+"/"); ok {
			return rest
		}
	}
	return pkg
}

// finish prints the summary.
func (s *summary) finish() {
	fmt.Fprintln(s.w)
	if len(s.skipped) > 0 {
		fmt.Fprintf(s.w, "Skipped (%d):\n", len(s.skipped))
		for _, r := range s.skipped {
			why := r.reason
			if why == "" {
				why = "(no reason given)"
			}
			fmt.Fprintf(s.w, "  SKIP %s %s: %s\n", s.short(r.pkg), r.test, why)
		}
	}
	if len(s.failed) > 0 {
		fmt.Fprintf(s.w, "Failed (%d):\n", len(s.failed))
		for _, r := range s.failed {
			fmt.Fprintf(s.w, "  FAIL %s %s\n", s.short(r.pkg), r.test)
		}
	}
	if len(s.brokenPackages) > 0 {
		fmt.Fprintf(s.w, "Packages that failed outside any test (build, panic, timeout) (%d):\n", len(s.brokenPackages))
		for _, p := range s.brokenPackages {
			fmt.Fprintf(s.w, "  FAIL %s\n", s.short(p))
		}
	}
	line := fmt.Sprintf("Tests: %d passed, %d failed, %d skipped (subtests included), in %d packages",
		s.counts["pass"], s.counts["fail"], s.counts["skip"], s.packages)
	if n := len(s.brokenPackages); n > 0 {
		line += fmt.Sprintf("; %d packages failed outside any test", n)
	}
	fmt.Fprintln(s.w, line)
}

func main() {
	verbose := flag.Bool("v", false, "print every test's output, as go test -v does")
	flag.Parse()
	module := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		module = bi.Main.Path
	}
	s := newSummary(os.Stdout, *verbose, module)
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			var e event
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil {
				s.add(e)
			} else {
				fmt.Fprint(os.Stdout, line) // not an event: pass it on
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "summary: %v\n", err)
			os.Exit(1)
		}
	}
	s.finish()
}
