package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// stream is the events of "go test -json" for three packages: one that
// passes with a skip, one with a failing subtest, one that does not build.
const stream = `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestOK","Output":"    a_test.go:9: chatter\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"example.com/m/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/m/a","Test":"TestPostgres"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPostgres","Output":"=== RUN   TestPostgres\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPostgres","Output":"\n*** SKIPPING TestPostgres: no PostgreSQL ***\n\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPostgres","Output":"    a_test.go:12: SKIPPING: no PostgreSQL (CI provides it and fails without it)\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPostgres","Output":"--- SKIP: TestPostgres (0.00s)\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestPostgres"}
{"Action":"output","Package":"example.com/m/a","Output":"PASS\n"}
{"Action":"output","Package":"example.com/m/a","Output":"ok  \texample.com/m/a\t0.01s\n"}
{"Action":"pass","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/b","Test":"TestTable"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable","Output":"=== RUN   TestTable\n"}
{"Action":"run","Package":"example.com/m/b","Test":"TestTable/good"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable/good","Output":"=== RUN   TestTable/good\n"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable/good","Output":"    --- PASS: TestTable/good (0.00s)\n"}
{"Action":"pass","Package":"example.com/m/b","Test":"TestTable/good"}
{"Action":"run","Package":"example.com/m/b","Test":"TestTable/bad"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable/bad","Output":"=== RUN   TestTable/bad\n"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable/bad","Output":"    b_test.go:20: got 1, want 2\n"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable/bad","Output":"    --- FAIL: TestTable/bad (0.00s)\n"}
{"Action":"fail","Package":"example.com/m/b","Test":"TestTable/bad"}
{"Action":"output","Package":"example.com/m/b","Test":"TestTable","Output":"--- FAIL: TestTable (0.00s)\n"}
{"Action":"fail","Package":"example.com/m/b","Test":"TestTable"}
{"Action":"output","Package":"example.com/m/b","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/m/b","Output":"FAIL\texample.com/m/b\t0.02s\n"}
{"Action":"fail","Package":"example.com/m/b"}
{"ImportPath":"example.com/m/c [example.com/m/c.test]","Action":"build-output","Output":"# example.com/m/c\n"}
{"ImportPath":"example.com/m/c [example.com/m/c.test]","Action":"build-output","Output":"c/c.go:3:1: syntax error\n"}
{"ImportPath":"example.com/m/c [example.com/m/c.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/m/c"}
{"Action":"output","Package":"example.com/m/c","Output":"FAIL\texample.com/m/c [build failed]\n"}
{"Action":"fail","Package":"example.com/m/c","FailedBuild":"example.com/m/c [example.com/m/c.test]"}
`

func feed(t *testing.T, verbose bool) string {
	t.Helper()
	var out bytes.Buffer
	s := newSummary(&out, verbose, "example.com/m")
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		s.add(e)
	}
	s.finish()
	return out.String()
}

func TestSummary(t *testing.T) {
	want := "ok  \texample.com/m/a\t0.01s\n" +
		"    b_test.go:20: got 1, want 2\n" +
		"    --- FAIL: TestTable/bad (0.00s)\n" +
		"--- FAIL: TestTable (0.00s)\n" +
		"FAIL\n" +
		"FAIL\texample.com/m/b\t0.02s\n" +
		"# example.com/m/c\n" +
		"c/c.go:3:1: syntax error\n" +
		"FAIL\texample.com/m/c [build failed]\n" +
		"\n" +
		"Skipped (1):\n" +
		"  SKIP a TestPostgres: a_test.go:12: SKIPPING: no PostgreSQL (CI provides it and fails without it)\n" +
		"Failed (2):\n" +
		"  FAIL b TestTable/bad\n" +
		"  FAIL b TestTable\n" +
		"Packages that failed outside any test (build, panic, timeout) (1):\n" +
		"  FAIL c\n" +
		"Tests: 2 passed, 2 failed, 1 skipped (subtests included), in 3 packages; 1 packages failed outside any test\n"
	if got := feed(t, false); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

func TestSummaryVerbose(t *testing.T) {
	got := feed(t, true)
	for _, want := range []string{"=== RUN   TestOK\n", "    a_test.go:9: chatter\n", "ok  \texample.com/m/a\t0.01s\n",
		"\nTests: 2 passed, 2 failed, 1 skipped"} {
		if !strings.Contains(got, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "ok  \texample.com/m/a") != 1 {
		t.Errorf("the result line is printed more than once:\n%s", got)
	}
}
