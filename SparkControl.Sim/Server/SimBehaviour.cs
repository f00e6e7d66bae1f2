using System.Globalization;

namespace SparkControl.Sim.Server;

/// <summary>Failures a simulated model server can be asked to show.</summary>
public enum SimFailure
{
    None,

    /// <summary>Killed for exceeding its memory: exit 137 with OOMKilled.</summary>
    OutOfMemory,

    /// <summary>The engine rejects a setting at startup: exit 1 with a ValueError line, as vLLM does.</summary>
    BadFlag,

    /// <summary>The engine dies part way through loading: exit 1 with a traceback.</summary>
    CrashMidLoad,
}

/// <summary>How a simulated model server behaves: how long it loads, how fast it streams, and whether it fails.</summary>
public sealed record SimBehaviour
{
    public const string LoadSecondsVariable = "SPARKCONTROL_SIM_LOAD_SECONDS";
    public const string TokensPerSecondVariable = "SPARKCONTROL_SIM_TOKENS_PER_SECOND";
    public const string FailureVariable = "SPARKCONTROL_SIM_FAIL";
    public const string FailAfterVariable = "SPARKCONTROL_SIM_FAIL_AFTER_SECONDS";
    public const string ChatScriptVariable = "SPARKCONTROL_SIM_CHAT_SCRIPT";

    public TimeSpan LoadTime { get; init; } = TimeSpan.FromSeconds(2);
    public double TokensPerSecond { get; init; } = 40;
    public SimFailure Failure { get; init; } = SimFailure.None;

    /// <summary>When the failure strikes; default half the load time.</summary>
    public TimeSpan? FailAfter { get; init; }

    public int EmbeddingDimensions { get; init; } = 384;

    /// <summary>What chat completions answer instead of the fixed reply (tests of a client's handling of real answers); null: the fixed reply.</summary>
    public SimChatScript? ChatScript { get; init; }

    /// <summary>Loading goes on past <see cref="LoadTime"/> until this completes (tests that look at a model mid-load).</summary>
    public Task? LoadHold { get; init; }

    public TimeSpan EffectiveFailAfter => FailAfter ?? LoadTime / 2;

    public static SimFailure ParseFailure(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "none" => SimFailure.None,
        "oom" => SimFailure.OutOfMemory,
        "bad-flag" => SimFailure.BadFlag,
        "crash" => SimFailure.CrashMidLoad,
        _ => throw new FormatException($"{FailureVariable} must be none, oom, bad-flag or crash, not '{text}'"),
    };

    /// <summary>Reads the <c>SPARKCONTROL_SIM_*</c> variables, which keep the simulator's own knobs out of vLLM's flags.</summary>
    public static SimBehaviour FromEnvironment(Func<string, string?> read, SimBehaviour defaults)
    {
        var behaviour = defaults;
        if (read(LoadSecondsVariable) is { } load)
        {
            behaviour = behaviour with { LoadTime = TimeSpan.FromSeconds(ParseNonNegative(LoadSecondsVariable, load)) };
        }

        if (read(TokensPerSecondVariable) is { } rate)
        {
            var value = ParseNonNegative(TokensPerSecondVariable, rate);
            behaviour = behaviour with { TokensPerSecond = value == 0 ? double.PositiveInfinity : value };
        }

        if (read(FailureVariable) is { } failure)
        {
            behaviour = behaviour with { Failure = ParseFailure(failure) };
        }

        if (read(FailAfterVariable) is { } after)
        {
            behaviour = behaviour with { FailAfter = TimeSpan.FromSeconds(ParseNonNegative(FailAfterVariable, after)) };
        }

        if (read(ChatScriptVariable) is { Length: > 0 } script)
        {
            behaviour = behaviour with { ChatScript = SimChatScript.Load(script, ChatScriptVariable) };
        }

        return behaviour;
    }

    private static double ParseNonNegative(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 && double.IsFinite(value)
            ? value
            : throw new FormatException($"{name} must be a non-negative number, not '{text}'");
}
