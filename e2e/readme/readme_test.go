// Package readme_test runs the README's shell blocks as a new user would
// type them, top to bottom, so that the README cannot drift from what
// works: install the command, start the server (plain, then HTTPS), make
// a user and a token, log gh in, clone and push with git, call the API with
// curl and Python, back up.
//
// The conventions (which blocks run, and how) are an HTML comment at the
// top of README.md. The blocks run in one bash shell in a scratch
// directory with a fresh HOME, a fresh GOPATH (sharing the build and
// module caches, offline), TMPDIR inside the scratch directory, PORT set
// to a free port, and of the developer's environment only PATH (less any
// directory that already holds a gatehouse command). git, gh, curl and
// python3 must be installed: when one is missing the test fails under
// CI=true and skips otherwise.
package readme_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// block is one ```sh block of the README.
type block struct {
	line int    // of the opening fence, 1-based
	mode string // "", "in-repo", "background" or "skip"
	code string
}

var markerRE = regexp.MustCompile(`^<!-- readme-test: (in-repo|background|skip: .+) -->$`)

// blocks returns the README's ```sh blocks with the mode the line right
// before each sets. A readme-test comment of another form is an error, so
// that a typo does not quietly change what runs.
func blocks(readme string) ([]block, error) {
	var out []block
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "<!-- readme-test:") && !markerRE.MatchString(l) {
			return nil, fmt.Errorf("README.md:%d: unknown marker %q", i+1, l)
		}
		if l != "```sh" {
			continue
		}
		b := block{line: i + 1}
		if i > 0 {
			if m := markerRE.FindStringSubmatch(lines[i-1]); m != nil {
				b.mode, _, _ = strings.Cut(m[1], ":")
			}
		}
		var code []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			code = append(code, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("README.md:%d: block never closed", b.line)
		}
		b.code = strings.Join(code, "\n") + "\n"
		out = append(out, b)
	}
	return out, nil
}

// script turns the blocks into one bash program: each block verbatim,
// between lines of the harness's own (prefixed __) that print where in
// the README it is, change directory for in-repo blocks and run
// background blocks as jobs of their own.
func script(bs []block, src, logs string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `set -euo pipefail
set -m  # background servers in process groups of their own
__src=%s __logs=%s __bg=
__stop() {
  if [ -n "$__bg" ]; then
    kill -TERM -- "-$__bg" 2>/dev/null || true
    wait "$__bg" 2>/dev/null || true
    # The job's shell may end before the server has shut down (and
    # freed the port): wait for the whole group.
    for __i in $(seq 150); do kill -0 -- "-$__bg" 2>/dev/null || break; sleep 0.1; done
    __bg=
  fi
}
trap __stop EXIT
trap '__stop; exit 143' TERM INT
__ready() {
  for __i in $(seq 300); do
    grep -q 'listening on' "$1" && return 0
    kill -0 "$__bg" 2>/dev/null || { echo "the server exited:"; cat "$1"; return 1; }
    sleep 0.1
  done
  echo "the server did not start in 30 s:"; cat "$1"; return 1
}
`, quote(src), quote(logs))
	for _, bl := range bs {
		fmt.Fprintf(&b, "\necho '### README.md:%d %s'\n", bl.line, bl.mode)
		switch bl.mode {
		case "skip":
			continue
		case "in-repo":
			b.WriteString("pushd \"$__src\" >/dev/null\n" + bl.code + "popd >/dev/null\n")
		case "background":
			log := fmt.Sprintf("\"$__logs/serve-%d.log\"", bl.line)
			b.WriteString("__stop\n{\n" + bl.code + "} >" + log + " 2>&1 &\n")
			b.WriteString("__bg=$!\necho \"$__bg\" >>\"$__logs/pids\"\n__ready " + log + "\n")
		default:
			b.WriteString(bl.code)
		}
	}
	b.WriteString("\necho '### end'\n")
	return b.String()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestReadme(t *testing.T) {
	bash := testenv.Require(t, "bash")
	for _, p := range []string{"go", "git", "gh", "curl"} {
		testenv.Require(t, p)
	}
	python := testenv.RequireOneOf(t, "python3", "apt-get install -y python3", "python3")

	src := testenv.ModuleRoot()
	readme, err := os.ReadFile(filepath.Join(src, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]int{}
	for _, b := range bs {
		modes[b.mode]++
	}
	if modes["in-repo"] == 0 || modes["background"] == 0 || modes[""] == 0 {
		t.Fatalf("README.md: want install (in-repo), server (background) and client blocks, got %v", modes)
	}

	tmp := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"home", "work", "logs", "tmp", "go", "bin"} {
		dirs[d] = filepath.Join(tmp, d)
		if err := os.MkdirAll(dirs[d], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// python3 may be a shim (pyenv) that needs the real HOME: link the
	// interpreter itself.
	exe, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	if err := os.Symlink(strings.TrimSpace(string(exe)), filepath.Join(dirs["bin"], "python3")); err != nil {
		t.Fatal(err)
	}
	goEnv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		return strings.TrimSpace(string(out))
	}
	port := freePort(t)
	env := []string{
		"HOME=" + dirs["home"],
		"PATH=" + dirs["bin"] + string(os.PathListSeparator) + pathWithoutGatehouse(t),
		"LANG=C.UTF-8",
		"TMPDIR=" + dirs["tmp"],
		"PORT=" + port,
		// A fresh GOPATH, so that go install lands in a new bin; the
		// caches are the ones this test was built with, offline.
		"GOPATH=" + dirs["go"],
		"GOCACHE=" + goEnv("GOCACHE"),
		"GOMODCACHE=" + goEnv("GOMODCACHE"),
		"GOFLAGS=" + goEnv("GOFLAGS"),
		"GOPROXY=off", "GOTOOLCHAIN=local",
		// No prompts (a missing credential fails instead of waiting),
		// no colours or update checks in what the test reads.
		"GIT_TERMINAL_PROMPT=0",
		"GH_PROMPT_DISABLED=1", "GH_NO_UPDATE_NOTIFIER=1", "NO_COLOR=1",
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script(bs, src, dirs["logs"]))
	cmd.Dir, cmd.Env = dirs["work"], env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Cleanup(func() { killServers(t, dirs["logs"]) })
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("the README's blocks ran in %v", time.Since(start).Round(time.Millisecond))
	output := out.String()
	serveLog := func() string {
		var b strings.Builder
		files, _ := filepath.Glob(filepath.Join(dirs["logs"], "serve-*.log"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), data)
		}
		return b.String()
	}
	if testing.Verbose() {
		t.Logf("output:\n%s", output)
	}
	if runErr != nil {
		t.Fatalf("the README's blocks failed (%v); the last one started is the last ### line:\n%s\nserver logs:\n%s", runErr, output, serveLog())
	}

	// What the blocks printed is what the README promises.
	host := "localhost:" + port
	for _, want := range []string{
		`"login":"alice"`, // curl
		"alice/demo https://" + host + "/alice/demo.git", // Python: clone URLs follow the host used
		"alice/notes", // gh api --paginate, page 2 of 2 or more
		"### end",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("the output lacks %q:\n%s", want, output)
		}
	}
	logs := serveLog()
	abs := filepath.Join(dirs["home"], "gatehouse-data", "tls", "ca.pem")
	for _, want := range []string{
		"curl --cacert " + abs,
		"python3 -c",
		`cafile="` + abs + `"`,
		"--external-url",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve did not print %q:\n%s", want, logs)
		}
	}
	if _, err := os.Stat(filepath.Join(dirs["go"], "bin", "gatehouse")); err != nil {
		t.Errorf("go install did not put gatehouse in GOPATH/bin: %v", err)
	}
	if t.Failed() {
		t.Logf("server logs:\n%s", logs)
	}
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// pathWithoutGatehouse is PATH less the directories holding a gatehouse
// command, so that only the one the README installs can run.
func pathWithoutGatehouse(t *testing.T) string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "gatehouse")); err == nil {
			t.Logf("leaving %s out of PATH: it holds a gatehouse command", d)
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// killServers ends the process group of every background block still
// running (the script stops them itself unless it was killed).
func killServers(t *testing.T, logs string) {
	f, err := os.Open(filepath.Join(logs, "pids"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil || pid <= 1 {
			continue
		}
		if syscall.Kill(-pid, 0) == nil {
			t.Logf("killing the README's server (process group %d), still running", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
