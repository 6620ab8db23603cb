// Octokit (@octokit/rest) against a running Gatehouse server, as a GitHub
// Enterprise Server: baseUrl https://HOST/api/v3. Started by
// e2e/api/octokit_test.go, which passes the server and a token in the
// environment and trusts the server's CA through NODE_EXTRA_CA_CERTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Octokit } from "@octokit/rest";

const baseUrl = process.env.GATEHOUSE_API_URL;
const token = process.env.GATEHOUSE_TOKEN;
if (!baseUrl || !token) {
  throw new Error("GATEHOUSE_API_URL and GATEHOUSE_TOKEN must be set (run through go test ./e2e/api)");
}
const octokit = new Octokit({ baseUrl, auth: token, userAgent: "gatehouse-e2e" });

test("users.getAuthenticated", async () => {
  const res = await octokit.rest.users.getAuthenticated();
  assert.equal(res.status, 200);
  assert.equal(res.data.login, "alice");
  assert.equal(res.data.type, "User");
  assert.equal(typeof res.data.id, "number");
  assert.equal(res.headers["x-oauth-scopes"], "read:org, repo");
  assert.equal(res.headers["x-github-media-type"], "github.v3; format=json");
});

test("repos.createForAuthenticatedUser, repos.get, paginate", async () => {
  const created = await octokit.rest.repos.createForAuthenticatedUser({ name: "oct1", private: true, description: "from octokit" });
  assert.equal(created.status, 201);
  assert.equal(created.data.full_name, "alice/oct1");
  assert.equal(created.data.private, true);

  const got = await octokit.rest.repos.get({ owner: "alice", repo: "oct1" });
  assert.equal(got.status, 200);
  assert.equal(got.data.description, "from octokit");
  assert.equal(got.data.visibility, "private");
  assert.deepEqual(got.data.permissions, { admin: true, maintain: true, push: true, triage: true, pull: true });

  await octokit.rest.repos.createForAuthenticatedUser({ name: "oct2" });
  const all = await octokit.paginate(octokit.rest.repos.listForAuthenticatedUser, { per_page: 1 });
  assert.deepEqual(all.map((r) => r.name), ["oct1", "oct2"]);
});

test("a missing repository is a 404 RequestError with GitHub's message", async () => {
  await assert.rejects(octokit.rest.repos.get({ owner: "alice", repo: "does-not-exist" }), (err) => {
    assert.equal(err.name, "HttpError");
    assert.equal(err.status, 404);
    assert.equal(err.message, "Not Found - https://docs.github.com/rest");
    return true;
  });
});

test("a bad token is a 401 RequestError: Bad credentials", async () => {
  const bad = new Octokit({ baseUrl, auth: "gtp_000000000000000000000000000000000000" });
  await assert.rejects(bad.rest.users.getAuthenticated(), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.message, "Bad credentials - https://docs.github.com/rest");
    assert.equal(err.response.data.status, "401");
    return true;
  });
});

test("graphql reaches /api/graphql", async () => {
  const res = await octokit.graphql("query { viewer { login } }");
  assert.deepEqual(res, { viewer: { login: "alice" } });
});

test("reading a repository: getContent, getReadme, listBranches, listCommits, getCommit, compare, archive", async () => {
  await octokit.rest.repos.createForAuthenticatedUser({ name: "oct3", auto_init: true, description: "to read" });
  const file = await octokit.rest.repos.getContent({ owner: "alice", repo: "oct3", path: "README.md" });
  assert.equal(file.data.type, "file");
  assert.equal(Buffer.from(file.data.content, "base64").toString(), "# oct3\n\nto read\n");
  const dir = await octokit.rest.repos.getContent({ owner: "alice", repo: "oct3", path: "" });
  assert.deepEqual(dir.data.map((e) => e.name), ["README.md"]);
  const raw = await octokit.rest.repos.getContent({ owner: "alice", repo: "oct3", path: "README.md", mediaType: { format: "raw" } });
  assert.equal(raw.data, "# oct3\n\nto read\n");
  const readme = await octokit.rest.repos.getReadme({ owner: "alice", repo: "oct3" });
  assert.equal(readme.data.name, "README.md");

  const branches = await octokit.rest.repos.listBranches({ owner: "alice", repo: "oct3" });
  assert.deepEqual(branches.data.map((b) => b.name), ["main"]);
  const commits = await octokit.paginate(octokit.rest.repos.listCommits, { owner: "alice", repo: "oct3", per_page: 1 });
  assert.equal(commits.length, 1);
  assert.equal(commits[0].commit.message, "Initial commit");
  const commit = await octokit.rest.repos.getCommit({ owner: "alice", repo: "oct3", ref: "main" });
  assert.equal(commit.data.files[0].filename, "README.md");
  assert.equal(commit.data.files[0].status, "added");
  const cmp = await octokit.rest.repos.compareCommitsWithBasehead({ owner: "alice", repo: "oct3", basehead: "main...main" });
  assert.equal(cmp.data.status, "identical");
  const ref = await octokit.rest.git.getRef({ owner: "alice", repo: "oct3", ref: "heads/main" });
  assert.equal(ref.data.object.sha, commits[0].sha);

  const tarball = await octokit.rest.repos.downloadTarballArchive({ owner: "alice", repo: "oct3", ref: "main" });
  assert.equal(tarball.status, 200);
  const bytes = new Uint8Array(tarball.data);
  assert.equal(bytes[0], 0x1f);
  assert.equal(bytes[1], 0x8b);
});
