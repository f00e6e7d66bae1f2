namespace SparkControl.Core.Yaml;

/// <summary>A problem in a configuration file, located so an operator can go straight to it.</summary>
public sealed record ConfigProblem(string File, int? Line, string Message)
{
    public override string ToString() => Line is { } line ? $"{File}:{line}: {Message}" : $"{File}: {Message}";
}

/// <summary>A configuration file could not be used; <see cref="Problems"/> lists every reason with its line.</summary>
public sealed class ConfigFileException(string file, IReadOnlyList<ConfigProblem> problems)
    : Exception(problems.Count == 0 ? $"{file} is invalid." : string.Join("; ", problems))
{
    public string File { get; } = file;
    public IReadOnlyList<ConfigProblem> Problems { get; } = problems;
}
