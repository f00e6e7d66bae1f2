using SparkControl.Core.Collections;
using SparkControl.Core.Shell;

namespace SparkControl.Core.Remote;

/// <summary>
/// A command to run on a Spark: an argv list (never a shell string), optional stdin for secrets, a timeout, and
/// whether running it twice is harmless (only then is it retried after a connection drop).
/// </summary>
public sealed record RemoteCommand
{
    public required ValueArray<string> Argv { get; init; }

    /// <summary>
    /// Written to the command's stdin, then closed. The way secrets reach a Spark; never logged. A command given input
    /// must read it to the end before it exits: OpenSSH drops the whole connection when the end of input arrives for a
    /// channel it has already closed.
    /// </summary>
    public string? Stdin { get; init; }

    /// <summary>Whether there is input to write; without it the command reads end-of-file.</summary>
    public bool HasInput => !string.IsNullOrEmpty(Stdin);

    /// <summary>How long the command may run; null uses the shell's default for a run and no limit for a stream.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Safe to run again if the connection drops after it may have started (reads, not actions).</summary>
    public bool Idempotent { get; init; }

    /// <summary>Send stderr to stdout (<c>2&gt;&amp;1</c>), as for <c>docker logs</c>.</summary>
    public bool MergeStderr { get; init; }

    public static RemoteCommand Read(params string[] argv) => new() { Argv = argv, Idempotent = true };

    public static RemoteCommand Action(params string[] argv) => new() { Argv = argv };

    /// <summary>The command as a shell line, for logs and previews (stdin is never part of it).</summary>
    public override string ToString() => ShellCommand.Join(Argv);
}

/// <summary>How a command ended: exit code, both outputs and when it started and exited.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr, DateTimeOffset StartTime, DateTimeOffset ExitTime)
{
    public TimeSpan RunTime => ExitTime - StartTime;

    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws a <see cref="SparkCommandException"/> that says what failed and the last thing it printed.</summary>
    public CommandResult EnsureSuccess(string spark, string what)
    {
        if (Succeeded)
        {
            return this;
        }

        var detail = LastLine(Stderr) ?? LastLine(Stdout) ?? "no output";
        throw new SparkCommandException(spark, $"{what} failed on {spark} (exit {ExitCode}): {detail}", ExitCode, (Stdout + Stderr).Trim());
    }

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}

/// <summary>Runs commands on one Spark.</summary>
public interface IRemoteShell : IAsyncDisposable
{
    string Spark { get; }

    /// <summary>Runs <paramref name="command"/> to the end and returns its result; a non-zero exit is a result, not an exception.</summary>
    Task<CommandResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken);

    /// <summary>
    /// The command's stdout, line by line, as it is written. Cancelling, or passing the command's own timeout, ends the
    /// remote process (its whole process group); a non-zero exit throws <see cref="SparkCommandException"/> after the last line.
    /// </summary>
    IAsyncEnumerable<string> StreamAsync(RemoteCommand command, CancellationToken cancellationToken);
}

/// <summary>The command ran longer than its timeout and was stopped.</summary>
public sealed class RemoteCommandTimeoutException(string spark, string command, TimeSpan timeout)
    : TimeoutException($"'{command}' on {spark} did not finish within {timeout.TotalSeconds:0.#} s and was stopped.")
{
    public string Spark { get; } = spark;
}

/// <summary>The Spark's host key is not approved yet: nothing ran. Approve <see cref="Fingerprint"/> in Settings.</summary>
public sealed class HostKeyNotApprovedException(string spark, string fingerprint, string? previousFingerprint)
    : SparkUnreachableException(spark, previousFingerprint is null
        ? $"{spark} presented host key {fingerprint}, which is not approved yet. Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the Spark and approve it in Settings."
        : $"{spark} presented host key {fingerprint}, but {previousFingerprint} is pinned. Nothing was run. If the Spark was reinstalled, check the new key on it and approve it in Settings; otherwise someone may be intercepting the connection.")
{
    public string Fingerprint { get; } = fingerprint;
    public string? PreviousFingerprint { get; } = previousFingerprint;
    public bool Changed => PreviousFingerprint is not null;
}
