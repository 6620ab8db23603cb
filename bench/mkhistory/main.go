// Command mkhistory writes a deterministic synthetic Git history to a new
// bare repository for clone benchmarks: by default 5,000 commits on main
// touching Go-like source files, about 20 MB packed, a tag every 250
// commits. The same flags always give the same commit ids.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
)

func main() {
	commits := flag.Int("commits", 5000, "number of commits")
	files := flag.Int("files", 600, "files in the first commit")
	seed := flag.Uint64("seed", 42, "random seed")
	tagEvery := flag.Int("tag-every", 250, "lightweight tag every N commits (0: none)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mkhistory [flags] OUT.git")
		os.Exit(2)
	}
	out := flag.Arg(0)
	if _, err := os.Stat(out); err == nil {
		fmt.Fprintf(os.Stderr, "mkhistory: %s exists; remove it first\n", out)
		os.Exit(1)
	}
	run("git", "init", "-q", "--bare", "--initial-branch=main", out)
	cmd := exec.Command("git", "-C", out, "fast-import", "--quiet")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	check(err)
	check(cmd.Start())
	w := bufio.NewWriterSize(stdin, 1<<20)
	g := &gen{r: rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))}
	type file struct {
		path  string
		lines []string
	}
	var fs []*file
	for i := 0; i < *files; i++ {
		f := &file{path: fmt.Sprintf("pkg/%s/%s_%04d.go", g.word(), g.word(), i)}
		f.lines = append(f.lines, "package "+g.word())
		for n := 40 + g.r.IntN(260); n > 0; n-- {
			f.lines = append(f.lines, g.line())
		}
		fs = append(fs, f)
	}
	emit := func(f *file) {
		body := strings.Join(f.lines, "\n") + "\n"
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", f.path, len(body), body)
	}
	const t0 = 1700000000
	for c := 1; c <= *commits; c++ {
		msg := fmt.Sprintf("change %d: %s %s", c, g.word(), g.word())
		ts := t0 + c*600
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\nauthor Bench <bench@example.com> %d +0000\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", c, ts, ts, len(msg), msg)
		if c > 1 {
			fmt.Fprintf(w, "from :%d\n", c-1)
		}
		if c == 1 {
			for _, f := range fs {
				emit(f)
			}
		} else {
			for k := 1 + g.r.IntN(3); k > 0; k-- {
				f := fs[g.r.IntN(len(fs))]
				for m := g.r.IntN(24); m > 0; m-- {
					f.lines[1+g.r.IntN(len(f.lines)-1)] = g.line()
				}
				at := 1 + g.r.IntN(len(f.lines))
				add := make([]string, 8+g.r.IntN(84))
				for i := range add {
					add[i] = g.line()
				}
				f.lines = append(f.lines[:at], append(add, f.lines[at:]...)...)
				emit(f)
			}
		}
		if *tagEvery > 0 && c%*tagEvery == 0 {
			fmt.Fprintf(w, "reset refs/tags/v%d\nfrom :%d\n\n", c / *tagEvery, c)
		}
	}
	check(w.Flush())
	check(stdin.Close())
	check(cmd.Wait())
	run("git", "-C", out, "repack", "-adfq")
	head, _ := exec.Command("git", "-C", out, "rev-parse", "main").Output()
	fmt.Printf("head=%s", head)
}

type gen struct{ r *rand.Rand }

const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *gen) word() string {
	b := make([]byte, 3+g.r.IntN(8))
	for i := range b {
		b[i] = alpha[g.r.IntN(len(alpha))]
	}
	return string(b)
}

func (g *gen) line() string {
	ind := strings.Repeat("\t", g.r.IntN(4))
	switch g.r.IntN(8) {
	case 0:
		return ind + "// " + g.word() + " " + g.word() + " " + g.word() + " " + g.word()
	case 1:
		return fmt.Sprintf("%sif %s != nil { return %s(%s, %d) }", ind, g.word(), g.word(), g.word(), g.r.IntN(100000))
	case 2:
		return fmt.Sprintf("%s%s := %s.%s(%s, %q)", ind, g.word(), g.word(), g.word(), g.word(), g.word()+g.word())
	case 3:
		return fmt.Sprintf("%sfor i := 0; i < %d; i++ { %s[i] = %s }", ind, 1+g.r.IntN(4096), g.word(), g.word())
	case 4:
		return fmt.Sprintf("%sfunc %s(%s %s) (%s, error) {", ind, g.word(), g.word(), g.word(), g.word())
	case 5:
		return ind + "}"
	case 6:
		return fmt.Sprintf("%sreturn %s{%s: %d, %s: %q}", ind, g.word(), g.word(), g.r.IntN(1000000), g.word(), g.word())
	}
	return ""
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	check(cmd.Run())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkhistory:", err)
		os.Exit(1)
	}
}
