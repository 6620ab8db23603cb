// Package hardening_test reproduces attacks on the built binary, loopback
// only and bounded in time and traffic, and checks that the server holds.
package hardening_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// peakRSS reads the peak resident set size of a process, in MiB.
func peakRSS(t *testing.T, pid int) float64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("SKIPPING: no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestParallelSignInsBoundMemory is the regression for anonymous sign-ins
// exhausting memory: 24 parallel POST /login with unknown logins took the
// server from 22 MB to 1.6 GB, each running a 64 MiB Argon2id at once.
// Now at most a few hashes run at once, with OWASP's parameters; 50
// parallel attempts must keep the peak under 200 MiB, and every attempt
// gets an answer (401, or 503 with Retry-After when it waited too long).
func TestParallelSignInsBoundMemory(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	s.CreateUser("alice", false)
	before := peakRSS(t, s.Pid())

	const n = 50
	var wg sync.WaitGroup
	codes := make([]int, n)
	retry := make([]string, n)
	for i := range n {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(s.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRE.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no anti-forgery field on the sign-in page:\n%s", body)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := fmt.Sprintf("nobody%d", i)
			if i%5 == 0 {
				login = "alice" // known logins cost the same
			}
			form := url.Values{"login": {login}, "password": {"wrong password " + strconv.Itoa(i)}, "csrf_token": {string(m[1])}}
			req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.URL)
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		}()
	}
	wg.Wait()
	after := peakRSS(t, s.Pid())
	t.Logf("peak RSS: %.1f MiB before, %.1f MiB after %d parallel sign-ins", before, after, n)
	for i, c := range codes {
		switch {
		case c == http.StatusUnauthorized:
		case c == http.StatusServiceUnavailable && retry[i] != "":
		default:
			t.Errorf("sign-in %d: status %d (Retry-After %q); want 401, or 503 with Retry-After", i, c, retry[i])
		}
	}
	if after > 200 {
		t.Fatalf("peak RSS %.1f MiB after %d parallel anonymous sign-ins; the bound is 200 MiB", after, n)
	}
}
