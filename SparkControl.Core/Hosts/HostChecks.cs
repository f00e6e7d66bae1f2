using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>Read-only questions about a Spark's pending updates; none needs root or changes anything.</summary>
public enum HostCheck
{
    /// <summary><c>apt-get -s full-upgrade</c>: what a full-upgrade would install, upgrade and remove.</summary>
    AptFullUpgradeSimulation,

    /// <summary><c>fwupdmgr get-updates --json</c>: devices with a newer firmware release.</summary>
    FirmwareUpdates,
}

/// <summary>How a check ended on the Spark: a non-zero exit is an answer for some checks (fwupdmgr's "nothing to do").</summary>
public sealed record HostCheckOutput(int ExitCode, string Stdout, string Stderr);

public static class HostChecks
{
    /// <summary>
    /// The argv of a check. apt-get -s runs as the login user (a simulation needs no lock); the fwupdmgr flags keep it
    /// from asking about metadata refresh or upload of reports, which would wait for an answer nobody gives.
    /// </summary>
    public static ValueArray<string> Command(HostCheck check) => check switch
    {
        HostCheck.AptFullUpgradeSimulation => ["apt-get", "-s", "full-upgrade"],
        HostCheck.FirmwareUpdates => ["fwupdmgr", "get-updates", "--json", "--no-metadata-check", "--no-unreported-check"],
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };
}
