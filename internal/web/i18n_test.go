package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

var verbRe = regexp.MustCompile(`%(\[\d\])?[sdv]`)

// TestCatalogsComplete keeps every language complete: the same keys, the
// same formatting verbs, and every scope described.
func TestCatalogsComplete(t *testing.T) {
	en := catalogs["en"]
	for _, lang := range Languages {
		cat, ok := catalogs[lang]
		if !ok {
			t.Fatalf("no catalog for %s", lang)
		}
		for k, v := range en {
			got, ok := cat[k]
			if !ok {
				t.Errorf("%s: missing %q", lang, k)
				continue
			}
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
			if a, b := verbs(v), verbs(got); !slices.Equal(a, b) {
				t.Errorf("%s: %q has verbs %v, English has %v", lang, k, b, a)
			}
		}
		for k := range cat {
			if _, ok := en[k]; !ok && !strings.HasPrefix(k, "scope.") {
				t.Errorf("%s: %q is not in the English catalog", lang, k)
			}
		}
		if lang != "en" {
			for _, s := range token.Scopes() {
				if _, ok := cat["scope."+s.Name]; !ok {
					t.Errorf("%s: scope %s has no description", lang, s.Name)
				}
			}
		}
	}
}

// verbs lists the formatting verbs of a message by argument position.
func verbs(msg string) []string {
	var out []string
	pos := 0
	for _, m := range verbRe.FindAllStringSubmatch(msg, -1) {
		verb := m[0][len(m[0])-1:]
		if m[1] != "" {
			out = append(out, m[1]+verb)
			continue
		}
		pos++
		out = append(out, "["+string(rune('0'+pos))+"]"+verb)
	}
	slices.Sort(out)
	return out
}

var (
	tmplKeyRe = regexp.MustCompile(`\.T "([^"]+)"`)
	goKeyRe   = regexp.MustCompile(`(?:\.T\(|Key: |key = |render\([^)]*?, "[a-z_]+", |renderError\([^)]*?, )"([a-z_]+\.[a-z_.]+)"`)
)

// TestKeysExist makes sure that every key the templates and the handlers
// use is in the catalog, so that no page shows a bare key.
func TestKeysExist(t *testing.T) {
	used := map[string]string{}
	err := fs.WalkDir(files, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(path)
		for _, m := range tmplKeyRe.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeyRe.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	if len(used) < 150 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k, where := range used {
		if _, ok := catalogs["en"][k]; !ok {
			t.Errorf("%s uses %q, which the catalog lacks", where, k)
		}
	}
}

func TestNavigationLabels(t *testing.T) {
	// Users of GitHub's documentation look for these exact words.
	en := localizer("en")
	for key, want := range map[string]string{
		"nav.settings":           "Settings",
		"nav.developer_settings": "Developer settings",
		"nav.tokens":             "Personal access tokens",
		"tokens.generate":        "Generate new token",
		"tokens.note":            "Note",
		"tokens.expiration":      "Expiration",
		"tokens.select_scopes":   "Select scopes",
		"tokens.generate_button": "Generate token",
		"tokens.delete":          "Delete",
		"tokens.regenerate":      "Regenerate token",
		"tokens.revoke_all":      "Revoke all",
	} {
		if got := en.T(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestMatchLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                         "en",
		"ja":                       "ja",
		"ja-JP,ja;q=0.9,en;q=0.8":  "ja",
		"en-US,en;q=0.9,ja;q=0.8":  "en",
		"fr-FR,ja;q=0.5":           "ja",
		"fr, de":                   "en",
		"en;q=0.1, ja;q=0.9":       "ja",
		"ja;q=0, en":               "en",
		"ja;q=bogus, en":           "en",
		"*":                        "en",
		"JA-jp":                    "ja",
		"de;q=1.0, ja;q=0.7, en;q": "ja",
	} {
		if got := matchLanguage(header); got != want {
			t.Errorf("matchLanguage(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestDates(t *testing.T) {
	d := time.Date(2026, 12, 24, 19, 7, 53, 0, time.UTC)
	if got := localizer("en").Date(d); got != "Thu, Dec 24 2026" {
		t.Errorf("en date %q", got)
	}
	if got := localizer("ja").Date(d); got != "2026年12月24日(木)" {
		t.Errorf("ja date %q", got)
	}
	if got := localizer("ja").DateTime(d); got != "2026年12月24日 19:07 UTC" {
		t.Errorf("ja date-time %q", got)
	}
}

func TestLastUsed(t *testing.T) {
	now := fixedNow
	en, ja := localizer("en"), localizer("ja")
	for _, tc := range []struct {
		ago    time.Duration
		en, ja string
	}{
		{-1, "Never used", "未使用"},
		{time.Hour, "Used within the last week", "過去 1 週間以内に使用"},
		{6*24*time.Hour + 23*time.Hour, "Used within the last week", "過去 1 週間以内に使用"},
		{7 * 24 * time.Hour, "Used within the last week", "過去 1 週間以内に使用"},
		{8 * 24 * time.Hour, "Used within the last 2 weeks", "過去 2 週間以内に使用"},
		{28 * 24 * time.Hour, "Used within the last 4 weeks", "過去 4 週間以内に使用"},
		{29 * 24 * time.Hour, "Used within the last month", "過去 1 か月以内に使用"},
		{31 * 24 * time.Hour, "Used within the last 2 months", "過去 2 か月以内に使用"},
		{200 * 24 * time.Hour, "Used within the last 7 months", "過去 7 か月以内に使用"},
		{400 * 24 * time.Hour, "Not used for more than a year", "1 年以上使われていません"},
	} {
		last := time.Time{}
		if tc.ago >= 0 {
			last = now.Add(-tc.ago)
		}
		if got := en.LastUsed(last, now); got != tc.en {
			t.Errorf("%v ago: en %q, want %q", tc.ago, got, tc.en)
		}
		if got := ja.LastUsed(last, now); got != tc.ja {
			t.Errorf("%v ago: ja %q, want %q", tc.ago, got, tc.ja)
		}
	}
}
