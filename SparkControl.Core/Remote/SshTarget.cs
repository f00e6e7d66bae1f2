using SparkControl.Core.Collections;

namespace SparkControl.Core.Remote;

/// <summary>Where and as whom to connect for one Spark.</summary>
public sealed record SshTarget(string Spark, string Host, int Port, string User, string? KeyPath)
{
    /// <summary>Directories put first on PATH for every command.</summary>
    public ValueArray<string> PathPrefix { get; init; }

    /// <summary>Where <see cref="KeyPath"/> may lie (<see cref="SshKeyFiles"/>); none means no key can be read.</summary>
    public ValueArray<string> KeyDirectories { get; init; }
}
