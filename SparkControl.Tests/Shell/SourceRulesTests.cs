using System.Text.RegularExpressions;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Shell;

/// <summary>Rules the code keeps that a reviewer would otherwise have to check by hand.</summary>
public sealed partial class SourceRulesTests
{
    private static IEnumerable<(string Path, string Text)> ProductSources() =>
        new[] { "SparkControl.Core", "SparkControl.Web", "SparkControl.Sim" }
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(Tools.RepositoryRoot, project), "*.cs", SearchOption.AllDirectories))
            .Where(path => !path.Contains("/obj/", StringComparison.Ordinal) && !path.Contains("/bin/", StringComparison.Ordinal))
            .Select(path => (Path.GetRelativePath(Tools.RepositoryRoot, path), File.ReadAllText(path)));

    [Fact]
    public void RemoteCommands_AreOnlyBuiltByTheCommandBuilder()
    {
        // SSH.NET's command entry points appear in one file, and there they only take lines from ShellCommand.
        var offenders = ProductSources()
            .Where(s => SshEntryPoint().IsMatch(s.Text) && s.Path != Path.Combine("SparkControl.Core", "Remote", "SshRemoteShell.cs"))
            .Select(s => s.Path)
            .ToList();
        var shell = File.ReadAllText(Path.Combine(Tools.RepositoryRoot, "SparkControl.Core", "Remote", "SshRemoteShell.cs"));
        var calls = SshEntryPoint().Matches(shell).Select(m => m.Value).ToList();

        Assert.Empty(offenders);
        Assert.All(calls, call => Assert.Matches(@"CreateCommand\((line|ShellCommand\.)", call));
    }

    [Fact]
    public void RemoteCommand_ArgvIsNeverAnInterpolatedShellLine()
    {
        // An interpolated string passed as "sh -c" script text would be string concatenation into a shell line.
        var offenders = ProductSources()
            .Where(s => InterpolatedShellScript().IsMatch(s.Text))
            .Select(s => s.Path)
            .ToList();

        Assert.Empty(offenders);
    }

    // SQLite's CreateCommand() takes no argument; SSH.NET's takes the command line.
    [GeneratedRegex(@"(CreateCommand|RunCommand)\([^)][^)]*")]
    private static partial Regex SshEntryPoint();

    [GeneratedRegex("\"sh\", \"-c\", \\$\"")]
    private static partial Regex InterpolatedShellScript();
}
