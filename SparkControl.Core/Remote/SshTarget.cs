using SparkControl.Core.Collections;

namespace SparkControl.Core.Remote;

/// <summary>Where and as whom to connect for one Spark.</summary>
public sealed record SshTarget(string Spark, string Host, int Port, string User, string? KeyPath)
{
    /// <summary>Directories put first on PATH for every command.</summary>
    public ValueArray<string> PathPrefix { get; init; }
}
