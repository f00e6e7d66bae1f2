using SparkControl.Core.Catalog;
using SparkControl.Core.Remote;
using SparkControl.Core.Shell;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Shell;

/// <summary>Every hostile input is rejected by the validators or passed inert by the quoting, through a real sshd.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public void Table_HasAtLeast200DistinctInputs() => Assert.True(HostileInputs.All.Count >= 200, $"only {HostileInputs.All.Count}");

    [Theory]
    [MemberData(nameof(HostileInputs.Cases), MemberType = typeof(HostileInputs))]
    public void Validators_IdentifiersHostsAndPaths_RejectIt(string input)
    {
        Assert.NotNull(Validators.ModelId(input));
        Assert.NotNull(Validators.ServedName(input));
        Assert.NotNull(Validators.HfRepoId(input));
        Assert.NotNull(Validators.HfRevision(input));
        Assert.NotNull(Validators.Name(input));
        Assert.NotNull(Validators.Host(input));
        Assert.NotNull(Validators.PathUnderRoots(input, ["/models"]));
        Assert.NotNull(Validators.PathUnderRoots("/models/" + input, ["/models"]));
        Assert.NotNull(Validators.HomeOrAbsolutePath("~/" + input));
        Assert.NotNull(Validators.FlagName(input.StartsWith("--", StringComparison.Ordinal) && Validators.FlagName(input) is null ? input + "\n" : input));
    }

    [Theory]
    [InlineData("~/.cache/huggingface", true)]
    [InlineData("/home/nvidia/.cache/huggingface", true)]
    [InlineData("~/$(reboot)", false)]
    [InlineData("~/../../etc", false)]
    [InlineData("~/.cache\n", false)]
    [InlineData("~", false)]
    [InlineData("~root/.cache", false)]
    public void HomeOrAbsolutePath_HomeFormFollowsTheAbsoluteRules(string input, bool valid) =>
        Assert.Equal(valid, Validators.HomeOrAbsolutePath(input) is null);

    [Theory]
    [InlineData("--api-key\n")]
    [InlineData("--api-key\r")]
    [InlineData("--served-model-name\n")]
    public void ExtraArgs_ManagedFlagWithALineBreak_IsRefused(string flag) =>
        Assert.NotEmpty(VllmFlagRules.ValidateExtraArgs([flag, "x"]));

    [Theory]
    [MemberData(nameof(HostileInputs.Cases), MemberType = typeof(HostileInputs))]
    public void ExtraArgs_HostileFlagNames_AreRejectedOrOneInertFlag(string input)
    {
        // "--help" is a well-formed flag: accepted, it reaches vLLM as one quoted word and nothing else.
        if (VllmFlagRules.ValidateExtraArgs([input]).Count == 0)
        {
            var equals = input.IndexOf('=', StringComparison.Ordinal);
            Assert.Matches("^--[a-z0-9]+(-[a-z0-9]+)*$", equals < 0 ? input : input[..equals]);
            Assert.Null(Validators.FlagValue(equals < 0 ? string.Empty : input[(equals + 1)..], "flag"));
        }
    }

    [Theory]
    [MemberData(nameof(HostileInputs.Cases), MemberType = typeof(HostileInputs))]
    public void ExtraArgs_HostileValues_AreRejectedOrQuotedIntoOneWord(string input)
    {
        var errors = VllmFlagRules.ValidateExtraArgs(["--chat-template", input]);
        if (errors.Count > 0)
        {
            return;
        }

        // Accepted: it must be exactly one shell word that the shell cannot expand.
        var quoted = ShellCommand.Quote(input);
        Assert.True(quoted == input ? IsPlain(input) : quoted.StartsWith('\'') && quoted.EndsWith('\''), $"'{input}' became {quoted}");
    }

    [Fact]
    public void Quote_Nul_IsRefused() =>
        Assert.Throws<ArgumentException>(() => ShellCommand.Join(["echo", "a\0b"]));

    [Fact]
    public void Quote_LoneSurrogate_IsRefused() =>
        Assert.Throws<ArgumentException>(() => ShellCommand.Join(["echo", "a\ud800b"]));

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    [InlineData("a b", "'a b'")]
    [InlineData("$(id)", "'$(id)'")]
    [InlineData("A=b", "A=b")]
    [InlineData("=cmd", "'=cmd'")]
    [InlineData("~", "'~'")]
    [InlineData("--port", "--port")]
    [InlineData("x\n", "'x\n'")]
    [InlineData("--port\r", "'--port\r'")]
    public void Quote_Examples(string input, string expected) => Assert.Equal(expected, ShellCommand.Quote(input));

    [Fact]
    public void Join_AssignmentAsTheProgramName_IsQuoted() => Assert.Equal("'A=b' x=y", ShellCommand.Join(["A=b", "x=y"]));

    private static bool IsPlain(string value) => value[0] != '=' && value.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c, StringComparison.Ordinal));
}

/// <summary>The argv the remote side receives equals the argv intended, for every hostile input.</summary>
[Collection(SshdCollection.Name)]
public sealed class HostileInputThroughSshdTests(SshdFixture sshd)
{
    [Fact]
    public async Task Argv_EveryHostileInput_ArrivesUnchangedAndRunsNothing()
    {
        await using var spark = new SshTestSpark(sshd);
        using var scratch = new TempDirectory();
        var inputs = HostileInputs.ArgvSafe.ToList();
        // Anything that managed to run would create this file.
        inputs.Add($"$(touch {scratch.File("pwned")})");
        inputs.Add($"`touch {scratch.File("pwned")}`");
        inputs.Add($"; touch {scratch.File("pwned")}");

        var result = await spark.Shell.RunAsync(RemoteCommand.Read(["sh", "-c", "for a in \"$@\"; do printf '%s\\0' \"$a\"; done", "argv-dump", .. inputs]), CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        var received = result.Stdout.Split('\0')[..^1];
        Assert.Equal(inputs.Count, received.Length);
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.True(inputs[i] == received[i], $"argument {i} changed: sent {Validators.Printable(inputs[i])}, received {Validators.Printable(received[i])}");
        }

        Assert.False(File.Exists(scratch.File("pwned")));
    }

    [Fact]
    public async Task Argv_HostileInputAsTheProgramName_RunsNoOtherProgram()
    {
        await using var spark = new SshTestSpark(sshd);
        using var scratch = new TempDirectory();

        var result = await spark.Shell.RunAsync(RemoteCommand.Read($"true; touch {scratch.File("pwned")}"), CancellationToken.None);

        Assert.Equal(127, result.ExitCode);
        Assert.False(File.Exists(scratch.File("pwned")));
    }
}
