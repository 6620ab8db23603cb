package logx

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestFailures(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f := &Failures{
		Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})),
		Msg: "polling failed", Every: 30 * time.Second, Now: func() time.Time { return now },
	}
	down := errors.New("connection refused")
	f.OK() // nothing to say
	// 4 polls a second for a minute.
	for range 240 {
		f.Failed(down)
		now = now.Add(250 * time.Millisecond)
	}
	f.OK()
	f.OK()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="polling failed" err="connection refused"`,
		`level=WARN msg="polling failed" err="connection refused" failures_since_last_log=120 failing_for=30s`,
		`level=INFO msg="polling failed: working again" failed_for=1m0s`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
	// A new outage starts over.
	buf.Reset()
	f.Failed(down)
	if !strings.HasPrefix(buf.String(), `level=WARN msg="polling failed" err="connection refused"`+"\n") {
		t.Errorf("a new outage: %s", buf.String())
	}
}
