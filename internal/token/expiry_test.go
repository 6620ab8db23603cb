package token

import (
	"strings"
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 30, 15, 987654321, time.FixedZone("X", 2*3600))
	base := now.UTC().Truncate(time.Second)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"7d", base.Add(7 * 24 * time.Hour)},
		{"30d", base.Add(30 * 24 * time.Hour)},
		{"60d", base.Add(60 * 24 * time.Hour)},
		{"90d", base.Add(90 * 24 * time.Hour)},
		{"1d", base.Add(24 * time.Hour)},
		{"3650d", base.Add(3650 * 24 * time.Hour)},
		{" 30D ", base.Add(30 * 24 * time.Hour)},
		{"never", time.Time{}},
		{"none", time.Time{}},
		{"Never", time.Time{}},
		{"2026-03-10", time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC)},
		{"2026-12-24", time.Date(2026, 12, 24, 23, 59, 59, 0, time.UTC)},
		{"2028-02-29", time.Date(2028, 2, 29, 23, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.in, now)
		if err != nil {
			t.Errorf("ParseExpiry(%q) error %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("ParseExpiry(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseExpiryErrors(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	for _, in := range []string{
		"", "0d", "3651d", "-7d", "+7d", "7", "d", "7 d", "7days", "7h", "1w",
		"99999999999999999999d", "2026-03-09", "2020-01-01", "2026-02-30",
		"2026-3-10", "10/03/2026", "2026-03-10T00:00:00Z", "forever",
	} {
		_, err := ParseExpiry(in, now)
		if err == nil {
			t.Errorf("ParseExpiry(%q) accepted", in)
			continue
		}
		if !strings.Contains(err.Error(), "YYYY-MM-DD") || !strings.Contains(err.Error(), "never") {
			t.Errorf("ParseExpiry(%q) error %q does not say what is accepted", in, err)
		}
	}
}
