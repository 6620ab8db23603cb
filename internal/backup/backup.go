package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// Format is the version of the archive layout described in the package
// comment; Restore refuses archives of any other.
const Format = 1

// Values of Manifest.Database.
const (
	DatabaseSQLite = "sqlite"
	DatabaseNone   = "none"
)

// Manifest describes an archive. It is stored in the archive as
// manifest.json, written last.
type Manifest struct {
	// Format is the archive layout's version (Format).
	Format int `json:"format"`
	// Version is the version of Gatehouse that wrote the archive.
	Version string `json:"version"`
	// Created is when the backup started, in UTC.
	Created time.Time `json:"created"`
	// Database is DatabaseSQLite when the archive holds gatehouse.db, or
	// DatabaseNone.
	Database string `json:"database"`
	// Repositories is how many repositories the archive holds.
	Repositories int `json:"repositories"`
}

// Store is what a backup needs of the database; *sqldb.DB is one.
type Store interface {
	// Snapshot writes a consistent copy of the database to the new file
	// dest while other connections keep reading and writing.
	Snapshot(ctx context.Context, dest string) error
	// ListRepos lists repositories as gatehouse.Store.ListRepos does.
	ListRepos(ctx context.Context, f gatehouse.RepoFilter, page gatehouse.Page) ([]*gatehouse.Repo, error)
	// Close releases the database.
	Close() error
}

// Options names the instance to back up or to restore into.
type Options struct {
	// Data is the data directory. Create and Write read its tls
	// directory; Restore needs it new or empty and fills it.
	Data string
	// Database is the database URL as the command line's --database takes
	// it: empty for the SQLite file gatehouse.db in Data, a SQLite path or
	// URL, or a PostgreSQL URL, whose database this package leaves to
	// pg_dump and pg_restore.
	Database string
	// Repos is where the repositories live on disk.
	Repos *gitrepo.Dir
	// Open opens the SQLite database in file, bringing its schema up to
	// date. Create and Write use it to snapshot the database, Restore to
	// learn which repositories the restored database knows. Unused with
	// RepositoriesOnly or an archive without a database.
	Open func(ctx context.Context, file string) (Store, error)
	// RepositoriesOnly leaves the database out of the archive (Create and
	// Write; Restore ignores it). A PostgreSQL Database needs it.
	RepositoriesOnly bool
	// Version is recorded in the manifest (Create and Write).
	Version string
	// Log receives notices about what a backup or restore did on its own
	// initiative, one line each; nil discards them.
	Log io.Writer
}

func (o *Options) log() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}

func (o *Options) open(ctx context.Context, file string) (Store, error) {
	if o.Open == nil {
		return nil, errors.New("backup: Options.Open is not set")
	}
	return o.Open(ctx, file)
}

var repoDirRE = regexp.MustCompile(`^([1-9][0-9]*)\.git$`)

// Create backs the instance up into file, which is replaced only once the
// archive is complete (it is written under a temporary name beside file
// and then renamed), and returns the archive's manifest.
func Create(ctx context.Context, opts Options, file string) (*Manifest, error) {
	b, err := start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer b.cleanup()

	out, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create backup file: %w", err)
	}
	tmpName := out.Name()
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(tmpName)
		}
	}()
	m, err := b.write(ctx, out)
	if err != nil {
		return nil, err
	}
	if err := out.Sync(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	if err := os.Rename(tmpName, file); err != nil {
		return nil, fmt.Errorf("move backup into place: %w", err)
	}
	done = true
	return m, nil
}

// Write backs the instance up as an archive written to w and returns the
// archive's manifest. On error, w holds an incomplete archive.
func Write(ctx context.Context, opts Options, w io.Writer) (*Manifest, error) {
	b, err := start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer b.cleanup()
	return b.write(ctx, w)
}

// run is a backup in progress: the database has been snapshotted (unless
// left out) into the staging directory, and the rest is read while
// writing.
type run struct {
	opts     Options
	stage    string
	snapshot string // "" without a database
	manifest Manifest
}

// start checks opts, creates the staging directory and takes the database
// snapshot: the database first, then the repositories.
func start(ctx context.Context, opts Options) (*run, error) {
	if sqldb.IsPostgres(opts.Database) && !opts.RepositoriesOnly {
		return nil, errors.New("the database is PostgreSQL: back it up with pg_dump and run 'gatehouse backup --repositories-only FILE' for the repositories")
	}
	if fi, err := os.Stat(opts.Data); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no data dir at %s: check --data", opts.Data)
	}
	stage, err := os.MkdirTemp("", "gatehouse-backup-")
	if err != nil {
		return nil, fmt.Errorf("create temporary dir: %w", err)
	}
	b := &run{
		opts:     opts,
		stage:    stage,
		manifest: Manifest{Format: Format, Version: opts.Version, Created: time.Now().UTC(), Database: DatabaseNone},
	}
	if !opts.RepositoriesOnly {
		if b.snapshot, err = b.snapshotDatabase(ctx); err != nil {
			b.cleanup()
			return nil, err
		}
		b.manifest.Database = DatabaseSQLite
	}
	return b, nil
}

func (b *run) cleanup() { os.RemoveAll(b.stage) }

// write writes the archive to w.
func (b *run) write(ctx context.Context, w io.Writer) (*Manifest, error) {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	if b.snapshot != "" {
		if err := addFile(tw, "gatehouse.db", b.snapshot); err != nil {
			return nil, err
		}
		os.Remove(b.snapshot)
	}
	if err := addTree(tw, filepath.Join(b.opts.Data, "tls"), "tls"); err != nil {
		return nil, err
	}
	n, err := b.addRepositories(ctx, tw)
	if err != nil {
		return nil, err
	}
	m := b.manifest
	m.Repositories = n
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := addBytes(tw, "manifest.json", mj); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	return &m, nil
}

// sqliteFile returns the SQLite database file that opts name, "" for
// PostgreSQL.
func sqliteFile(opts Options) (string, error) {
	switch {
	case sqldb.IsPostgres(opts.Database):
		return "", nil
	case opts.Database == "":
		return filepath.Join(opts.Data, "gatehouse.db"), nil
	}
	return sqldb.SQLiteFile(opts.Database)
}

// snapshotDatabase writes a consistent copy of the SQLite database into
// the staging directory and returns its path.
func (b *run) snapshotDatabase(ctx context.Context) (string, error) {
	src, err := sqliteFile(b.opts)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("no database at %s: check --data and --database", src)
	}
	st, err := b.opts.open(ctx, src)
	if err != nil {
		return "", fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	dest := filepath.Join(b.stage, "gatehouse.db")
	if err := st.Snapshot(ctx, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// addRepositories adds every repository on disk to tw, one at a time, and
// returns how many it added.
func (b *run) addRepositories(ctx context.Context, tw *tar.Writer) (int, error) {
	repos := b.opts.Repos
	entries, err := os.ReadDir(repos.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list repositories: %w", err)
	}
	stage, err := filepath.Abs(b.stage)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, de := range entries {
		m := repoDirRE.FindStringSubmatch(de.Name())
		if m == nil || !de.IsDir() {
			continue // temporary and deleted repositories
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		bundle := filepath.Join(stage, m[1]+".bundle")
		head, hasRefs, err := repos.Backup(ctx, id, bundle)
		if err != nil {
			if !repos.Exists(id) {
				continue // deleted meanwhile, and so after the snapshot
			}
			return 0, err
		}
		if err := addBytes(tw, "repositories/"+m[1]+".head", []byte(head+"\n")); err != nil {
			return 0, err
		}
		if hasRefs {
			if err := addFile(tw, "repositories/"+m[1]+".bundle", bundle); err != nil {
				return 0, err
			}
			os.Remove(bundle)
		}
		n++
	}
	return n, nil
}

func addBytes(tw *tar.Writer, name string, b []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

func addFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

// addTree adds the regular files under dir, if it exists, as prefix/….
func addTree(tw *tar.Writer, dir, prefix string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("back up %s: %w", prefix, err)
	}
	sort.Strings(files)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		if err := addFile(tw, prefix+"/"+filepath.ToSlash(rel), p); err != nil {
			return err
		}
	}
	return nil
}
