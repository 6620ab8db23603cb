// Package backup writes a Gatehouse instance into one archive and restores
// an instance from it: the SQLite database (as a consistent snapshot), the
// self-signed TLS material and every repository (as a git bundle), taken
// while the server keeps serving.
//
// An archive is a gzip-compressed tar file laid out as
//
//	manifest.json               the Manifest
//	gatehouse.db                SQLite snapshot (absent with RepositoriesOnly)
//	tls/…                       the self-signed TLS material, if any
//	repositories/ID.head        the ref HEAD names
//	repositories/ID.bundle      every ref and its objects (absent for a repository without refs)
//
// The database is snapshotted before the repositories are read, so every
// repository the snapshot knows is in the archive (repositories are deleted
// only after their row); repositories created after the snapshot come along
// too, and Restore skips them. A PostgreSQL database is left to pg_dump:
// back up the repositories alone with RepositoriesOnly.
//
// Restore fills a new or empty data directory and, when it fails, empties
// it again so that the operator can simply retry. It accepts only regular
// files and directories whose names stay inside the data directory, so
// that a crafted archive cannot write elsewhere.
package backup
