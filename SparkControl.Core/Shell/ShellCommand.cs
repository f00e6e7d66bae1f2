using System.Text;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Shell;

/// <summary>
/// The one place a remote command line is made: an argv list becomes one POSIX shell line in which every argument
/// is exactly one word, whatever it contains. Nothing else in the code base joins user input into a shell line.
/// </summary>
public static partial class ShellCommand
{
    /// <summary>
    /// Quotes one argument for a POSIX shell. Plain words are left as they are; anything else is single-quoted, with
    /// embedded single quotes written as <c>'\''</c>. Inside single quotes the shell interprets nothing: no <c>$</c>,
    /// no backticks, no globbing, no newline splitting.
    /// </summary>
    /// <param name="commandName">The word is a program name: a word like <c>A=b</c> there would be an assignment, so it is quoted.</param>
    /// <exception cref="ArgumentException">The argument holds a NUL, which no argv can carry.</exception>
    public static string Quote(string argument, bool commandName = false)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("An argument cannot contain a NUL character.", nameof(argument));
        }

        if (System.Text.Unicode.Utf8.FromUtf16(argument, new byte[Encoding.UTF8.GetMaxByteCount(argument.Length)], out _, out _, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            // A lone surrogate has no UTF-8 form: it would arrive as something else, so it is refused.
            throw new ArgumentException("An argument cannot contain invalid Unicode (a lone surrogate).", nameof(argument));
        }

        if (argument.Length > 0 && (commandName ? PlainCommand() : PlainArgument()).IsMatch(argument))
        {
            return argument;
        }

        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>Joins <paramref name="argv"/> into one shell line, each element one word.</summary>
    public static string Join(IEnumerable<string> argv)
    {
        var builder = new StringBuilder();
        foreach (var argument in argv)
        {
            var first = builder.Length == 0;
            if (!first)
            {
                builder.Append(' ');
            }

            builder.Append(Quote(argument, commandName: first));
        }

        if (builder.Length == 0)
        {
            throw new ArgumentException("A command needs at least a program name.", nameof(argv));
        }

        return builder.ToString();
    }

    /// <summary>The marker the remote shell writes to stderr before it becomes the command: its pid, which is also its process group.</summary>
    public const string PidMarker = "__sparkcontrol_pid=";

    /// <summary>
    /// The full line sent over SSH: report the shell's pid (the command's process group, for a kill that works even
    /// where sshd ignores signal requests), put the Spark's PATH prefix first, then <c>exec</c> the command so the
    /// pid stays the same. Only <paramref name="argv"/> and <paramref name="pathPrefix"/> vary, and both are quoted here.
    /// </summary>
    public static string ForRemote(IReadOnlyList<string> argv, IReadOnlyList<string> pathPrefix, bool mergeStderr, bool withInput)
    {
        var line = new StringBuilder();
        line.Append("printf '").Append(PidMarker).Append("%s\\n' \"$$\" >&2; ");
        if (pathPrefix.Count > 0)
        {
            line.Append("PATH=").Append(string.Join(':', pathPrefix.Select(p => Quote(p)))).Append(":\"$PATH\"; export PATH; ");
        }

        line.Append("exec ").Append(Join(argv));
        if (!withInput)
        {
            // A command given no input reads end-of-file at once: SSH.NET sends EOF only after bytes were written, and
            // an input stream opened on a command that already ended is an error, so none is opened for these.
            line.Append(" </dev/null");
        }

        if (mergeStderr)
        {
            line.Append(" 2>&1");
        }

        return line.ToString();
    }

    /// <summary>Stops a whole remote process group: TERM, a short grace, then KILL. The group id is the only input.</summary>
    /// <param name="onlySessionLeader">Leave the group alone unless its leader still runs and leads its own session.</param>
    public static IReadOnlyList<string> KillProcessGroup(int processGroup, bool onlySessionLeader = false) =>
    [
        "sh", "-c",
        (onlySessionLeader ? "[ \"$(ps -o sid= -p \"$1\" 2>/dev/null | tr -d ' ')\" = \"$1\" ] || exit 0; " : string.Empty)
        // dash's kill takes no "--"; a negative pid right after the signal names the process group.
        + "kill -TERM \"-$1\" 2>/dev/null || exit 0; i=0; while [ $i -lt 30 ] && kill -0 \"-$1\" 2>/dev/null; do sleep 0.1; i=$((i+1)); done; kill -KILL \"-$1\" 2>/dev/null; exit 0",
        "sparkcontrol-kill", processGroup.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    // Words that mean the same to any POSIX shell (and zsh) unquoted. Never "~" (tilde expansion); "=" only inside an
    // argument: leading, zsh expands it, and in a program name A=b would be an assignment.
    [GeneratedRegex("^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlainArgument();

    [GeneratedRegex("^[A-Za-z0-9_@%+:,./-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlainCommand();
}
