/**
 * The GitLab adapter's role: what the bot asks of GitLab, in the bot's words, and its error. In
 * a module of its own so that naming them does not load @gitbeaker/rest (./client.ts does).
 */

export interface GitlabUser {
  id: number;
  username: string;
  name: string;
}

export interface GitlabIssue {
  iid: number;
  title: string;
  description: string;
  state: 'opened' | 'closed';
  webUrl: string;
  labels: string[];
  dueDate?: string;
  /** Who closed it, when it is closed and GitLab says. */
  closedBy?: GitlabUser;
}

export interface GitlabNote {
  id: number;
  body: string;
  author: GitlabUser;
  /** System notes ("closed", "changed the due date") are GitLab's own, not people's. */
  system: boolean;
  createdAt: string;
}

export interface NewIssue {
  title: string;
  description: string;
  labels: readonly string[];
  /** YYYY-MM-DD */
  dueDate?: string;
}

/** What the bot asks of GitLab, in one project. Failures throw GitlabError. */
export interface GitlabApi {
  /** The token's own user (the bot's notes are by it). */
  currentUser(): Promise<GitlabUser>;
  createIssue(issue: NewIssue): Promise<GitlabIssue>;
  issue(iid: number): Promise<GitlabIssue>;
  /** Issues whose title or description contains `text` (the bot's marker), newest first. */
  findIssues(text: string): Promise<GitlabIssue[]>;
  setIssueState(iid: number, event: 'close' | 'reopen'): Promise<GitlabIssue>;
  /** Every note of the issue, oldest first (all pages). */
  notes(iid: number): Promise<GitlabNote[]>;
  addNote(iid: number, body: string): Promise<GitlabNote>;
}

export type GitlabErrorKind =
  /** The token was refused (401) or lacks the rights (403). */
  | 'auth'
  /** The project (or the URL's API) is not there. */
  | 'project-not-found'
  /** One issue is not there (deleted, moved). */
  | 'issue-not-found'
  | 'rate-limited'
  | 'timeout'
  /** No answer: refused, reset, DNS. */
  | 'network'
  /** Any other answer GitLab refused. */
  | 'api';

export class GitlabError extends Error {
  constructor(
    readonly kind: GitlabErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(`GitLab: ${message}`);
    this.name = 'GitlabError';
  }
}

