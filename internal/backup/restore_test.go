package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// testOptions are the options the command line passes for data dir data
// and the default database.
func testOptions(data string) Options {
	return Options{
		Data:  data,
		Repos: &gitrepo.Dir{Root: filepath.Join(data, "repositories")},
		Open:  openSQLite,
	}
}

func openSQLite(ctx context.Context, file string) (Store, error) {
	db, err := sqldb.Open(ctx, file)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// writeArchive writes a gzip-compressed tar file of hdrs; every regular
// file holds "evil\n".
func writeArchive(t *testing.T, file string, hdrs ...*tar.Header) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		body := "evil\n"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o600
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRefusesTarSlip(t *testing.T) {
	manifest := &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg}
	for name, h := range map[string]*tar.Header{
		"dot-dot":          {Name: "../evil", Typeflag: tar.TypeReg},
		"nested dot-dot":   {Name: "repositories/../../evil", Typeflag: tar.TypeReg},
		"absolute":         {Name: "/tmp/evil", Typeflag: tar.TypeReg},
		"backslash":        {Name: `..\evil`, Typeflag: tar.TypeReg},
		"symlink":          {Name: "tls", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		"hard link":        {Name: "gatehouse.db", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
		"dot-dot dir":      {Name: "../evil/", Typeflag: tar.TypeDir},
		"dot-dot trailing": {Name: "repositories/..", Typeflag: tar.TypeDir},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "backup.tar.gz")
			writeArchive(t, file, manifest, h)
			data := filepath.Join(dir, "a", "data")
			_, err := Restore(context.Background(), testOptions(data), file)
			if err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("restore accepted entry %q: %v", h.Name, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, p := range []string{filepath.Join(dir, "a", "evil"), filepath.Join(dir, "evil"), filepath.Join(dir, "a", "evil", "")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("restore wrote %s outside the data dir", p)
				}
			}
			if entries, _ := os.ReadDir(data); len(entries) != 0 {
				t.Errorf("a failed restore left %d entries in the data dir", len(entries))
			}
		})
	}
}

func TestRestoreRefusesNonEmptyDataDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.tar.gz")
	writeArchive(t, file, &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg})
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "repositories"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(context.Background(), testOptions(data), file)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "repositories")); err != nil {
		t.Fatalf("the refused restore touched the existing data dir: %v", err)
	}
}

func TestRestoreRefusesForeignArchive(t *testing.T) {
	dir := t.TempDir()
	for name, write := range map[string]func(file string){
		"bad manifest": func(file string) {
			writeArchive(t, file, &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg})
		},
		"no manifest": func(file string) {
			writeArchive(t, file, &tar.Header{Name: "notes.txt", Typeflag: tar.TypeReg})
		},
		"not gzip": func(file string) {
			if err := os.WriteFile(file, []byte("plain text\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".tar.gz")
			write(file)
			data := filepath.Join(dir, name, "data")
			_, err := Restore(context.Background(), testOptions(data), file)
			if err == nil || !strings.Contains(err.Error(), "not a gatehouse backup") {
				t.Fatalf("restore of an archive without a valid manifest: %v", err)
			}
			if entries, _ := os.ReadDir(data); len(entries) != 0 {
				t.Errorf("a failed restore left %d entries in the data dir", len(entries))
			}
		})
	}
}

func TestRestoreRefusesExistingDatabaseFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.tar.gz")
	writeArchive(t, file, &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg})
	db := filepath.Join(dir, "elsewhere", "gatehouse.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(filepath.Join(dir, "data"))
	opts.Database = db
	_, err := Restore(context.Background(), opts, file)
	if err == nil || !strings.Contains(err.Error(), "exists: restore into a new one") {
		t.Fatalf("restore over an existing database file: %v", err)
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "keep" {
		t.Fatalf("the refused restore touched the existing database file: %q, %v", b, err)
	}
}

func TestRestoreRefusesSQLiteIntoPostgres(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.tar.gz")
	writeFiles(t, file, map[string]string{
		"manifest.json": `{"format": 1, "database": "sqlite"}`,
		"gatehouse.db":  "not really",
	})
	data := filepath.Join(dir, "data")
	opts := testOptions(data)
	opts.Database = "postgres://gatehouse@db.invalid/gatehouse"
	_, err := Restore(context.Background(), opts, file)
	if err == nil || !strings.Contains(err.Error(), "without a PostgreSQL --database") {
		t.Fatalf("restore of a SQLite backup with a PostgreSQL database: %v", err)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("a failed restore left %d entries in the data dir", len(entries))
	}
}

// writeFiles writes a gzip-compressed tar file holding regular files.
func writeFiles(t *testing.T, file string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func FuzzEntryPath(f *testing.F) {
	for _, s := range []string{
		"manifest.json", "gatehouse.db", "tls/ca.pem", "repositories/1.head", "repositories/", "./tls/ca.pem",
		"../evil", "repositories/../../evil", "/tmp/evil", `..\evil`, "../evil/", "repositories/..", "a/../b",
		"", ".", "./", "a//b", `\\host\share`, "C:/evil", "a/./../..",
	} {
		f.Add(s)
	}
	dir := filepath.FromSlash("/data/.restore-1")
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := entryPath(name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(filepath.FromSlash(clean)) || strings.Contains(clean, `\`) {
			t.Fatalf("entryPath(%q) = %q, which is not local", name, clean)
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		if rel, err := filepath.Rel(dir, target); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("entryPath(%q) = %q lands at %s, outside %s", name, clean, target, dir)
		}
	})
}
