using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>What an operator can do to a Spark's operating system from the panel.</summary>
public enum HostAction
{
    AptUpdate,
    AptUpgrade,
    Reboot,

    /// <summary>apt-get full-upgrade: may remove packages, so it runs only after the operator saw which.</summary>
    AptFullUpgrade,

    /// <summary>fwupdmgr update: flashes pending firmware (applied at the next reboot).</summary>
    FirmwareUpdate,
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
    /// <summary>apt-get and fwupdmgr run detached: killing them half way because their viewer left could break the host.</summary>
    public static bool RunsDetached(this HostAction action) => action is HostAction.AptUpdate or HostAction.AptUpgrade or HostAction.AptFullUpgrade or HostAction.FirmwareUpdate;

    /// <summary>Every action, in the order the Host page lists them.</summary>
    public static IReadOnlyList<HostAction> All { get; } = [HostAction.AptUpdate, HostAction.AptUpgrade, HostAction.AptFullUpgrade, HostAction.FirmwareUpdate, HostAction.Reboot];

    public static string ToRoute(this HostAction action) => action switch
    {
        HostAction.AptUpdate => "apt-update",
        HostAction.AptUpgrade => "apt-upgrade",
        HostAction.Reboot => "reboot",
        HostAction.AptFullUpgrade => "apt-full-upgrade",
        HostAction.FirmwareUpdate => "firmware-update",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>The action in words, as other messages name it ("… while apt-get upgrade runs on it").</summary>
    public static string Describe(HostAction action) => action switch
    {
        HostAction.AptUpdate => "apt-get update",
        HostAction.AptUpgrade => "apt-get upgrade",
        HostAction.Reboot => "a reboot",
        HostAction.AptFullUpgrade => "apt-get full-upgrade",
        HostAction.FirmwareUpdate => "fwupdmgr update",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    public static HostAction? Parse(string? route) => route switch
    {
        "apt-update" => HostAction.AptUpdate,
        "apt-upgrade" => HostAction.AptUpgrade,
        "reboot" => HostAction.Reboot,
        "apt-full-upgrade" => HostAction.AptFullUpgrade,
        "firmware-update" => HostAction.FirmwareUpdate,
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
        HostAction.AptFullUpgrade => ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "full-upgrade"],

        // --no-reboot-check: the panel asks for the reboot as its own action, after the operator stopped the models.
        HostAction.FirmwareUpdate => ["sudo", "-n", "fwupdmgr", "update", "-y", "--no-reboot-check", "--no-unreported-check"],
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>How to give the SSH user what the actions need, for the message shown when sudo asks for a password.</summary>
    public static string SudoHelp(string user) =>
        $"The SSH user {user} needs passwordless sudo for apt-get, fwupdmgr and reboot. On the Spark, run `sudo visudo -f /etc/sudoers.d/sparkcontrol` and add: " +
        $"{user} ALL=(root) NOPASSWD: {SudoersCommands}";

    /// <summary>The sudoers command list: apt-get through env as the actions call it, fwupdmgr only with the panel's own arguments.</summary>
    public const string SudoersCommands = "/usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get *, /usr/bin/fwupdmgr update -y --no-reboot-check --no-unreported-check, /usr/sbin/reboot";
}

/// <summary>A host action was refused before anything ran; the message says what to do.</summary>
public sealed class HostActionRefusedException(string message) : InvalidOperationException(message);
