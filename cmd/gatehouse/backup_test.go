package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
			var stderr bytes.Buffer
			err := run(context.Background(), []string{"restore", file, "--data", data}, nil, &stderr, &stderr)
			if err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("restore accepted entry %q: %v", h.Name, err)
			}
			if strings.Contains(oneLine(err), "\n") {
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
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"restore", file, "--data", data}, nil, &stderr, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "repositories")); err != nil {
		t.Fatalf("the refused restore touched the existing data dir: %v", err)
	}
}

func TestRestoreRefusesForeignArchive(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.tar.gz")
	writeArchive(t, file, &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg})
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"restore", file, "--data", filepath.Join(dir, "data")}, nil, &stderr, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not a gatehouse backup") {
		t.Fatalf("restore of an archive without a valid manifest: %v", err)
	}
}
