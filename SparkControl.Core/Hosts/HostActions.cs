using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>What an operator can do to a Spark's operating system from the panel.</summary>
public enum HostAction
{
    AptUpdate,
    AptUpgrade,
    Reboot,
}

/// <summary>Where a detached host action is: still running, ended with an exit status, or gone without one.</summary>
public enum HostActionProgress
{
    Running,
    Ended,

    /// <summary>Its process is gone and left no exit status (killed, or the Spark rebooted under it).</summary>
    Lost,
}

/// <summary>The current or last detached host action on a Spark, as the Spark's state files say.</summary>
public sealed record HostActionState(HostAction Action, DateTimeOffset? StartedAt, HostActionProgress Progress, int? ExitCode)
{
    public bool IsRunning => Progress == HostActionProgress.Running;

    public bool Succeeded => Progress == HostActionProgress.Ended && ExitCode == 0;
}

public static class HostActionNames
{
    /// <summary>apt-get runs detached: it must not be killed half way because its viewer left.</summary>
    public static bool RunsDetached(this HostAction action) => action is HostAction.AptUpdate or HostAction.AptUpgrade;

    public static string ToRoute(this HostAction action) => action switch
    {
        HostAction.AptUpdate => "apt-update",
        HostAction.AptUpgrade => "apt-upgrade",
        HostAction.Reboot => "reboot",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>The action in words, as other messages name it ("… while apt-get upgrade runs on it").</summary>
    public static string Describe(HostAction action) => action switch
    {
        HostAction.AptUpdate => "apt-get update",
        HostAction.AptUpgrade => "apt-get upgrade",
        HostAction.Reboot => "a reboot",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    public static HostAction? Parse(string? route) => route switch
    {
        "apt-update" => HostAction.AptUpdate,
        "apt-upgrade" => HostAction.AptUpgrade,
        "reboot" => HostAction.Reboot,
        _ => null,
    };

    /// <summary>
    /// The command for an action, always through <c>sudo -n</c>: it fails at once instead of waiting for a password
    /// nobody can type, and the panel explains how to allow it.
    /// </summary>
    public static ValueArray<string> Command(HostAction action) => action switch
    {
        HostAction.AptUpdate => ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"],
        HostAction.AptUpgrade => ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "upgrade"],
        HostAction.Reboot => ["sudo", "-n", "reboot"],
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>How to give the SSH user what the actions need, for the message shown when sudo asks for a password.</summary>
    public static string SudoHelp(string user) =>
        $"The SSH user {user} needs passwordless sudo for apt-get and reboot. On the Spark, run `sudo visudo -f /etc/sudoers.d/sparkcontrol` and add: " +
        $"{user} ALL=(root) NOPASSWD: /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get *, /usr/sbin/reboot";
}

/// <summary>A host action was refused before anything ran; the message says what to do.</summary>
public sealed class HostActionRefusedException(string message) : InvalidOperationException(message);
