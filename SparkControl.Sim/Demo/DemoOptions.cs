using Microsoft.Extensions.Options;
using SparkControl.Sim.Server;

namespace SparkControl.Sim.Demo;

/// <summary>When the simulated Spark is used.</summary>
public enum DemoMode
{
    /// <summary>Only when no real Spark is configured in sparks.yaml.</summary>
    Auto,

    /// <summary>Always, next to any configured Sparks.</summary>
    On,

    /// <summary>Never.</summary>
    Off,
}

/// <summary>Settings under <c>Demo</c>: how the simulated Spark behaves.</summary>
public sealed class DemoOptions
{
    public const string Section = "Demo";

    public DemoMode Mode { get; set; } = DemoMode.Auto;

    /// <summary>A fixed load time for every model; unset, a model loads in proportion to its size.</summary>
    public TimeSpan? LoadTime { get; set; }

    public double LoadSecondsPerGiB { get; set; } = 0.25;

    public double TokensPerSecond { get; set; } = 40;

    /// <summary>
    /// A recorded nvidia-smi timeline to replay as the demo GPU (<c>timestamp,utilization.gpu,...</c> CSV), from the moment
    /// a demo model first serves.
    /// </summary>
    public string? GpuReplay { get; set; }

    /// <summary>How much faster than recorded the replay plays.</summary>
    public double GpuReplaySpeed { get; set; } = 1;

    /// <summary>Plays the replay again each time it ends (else once, then an idle GPU).</summary>
    public bool GpuReplayLoop { get; set; }

    /// <summary>The fields of each replayed line; default <c>timestamp,utilization.gpu,memory.used,power.draw</c>.</summary>
    public string? GpuReplayFields { get; set; }

    public TimeSpan GpuSampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The demo catalog model loaded at start; empty loads none.</summary>
    public string InitialModel { get; set; } = "qwen3-8b";

    /// <summary>
    /// Phrases the simulated ASR worker expects (a JSGF grammar of them makes pocketsphinx exact for known scripts);
    /// empty: the generic English model, words approximate and timings real.
    /// </summary>
    public string[] AsrPhrases { get; set; } = [];

    /// <summary>
    /// A simulated ASR worker of known capacity instead of pocketsphinx: this many requests decoded at once, each taking
    /// <see cref="AsrServiceTime"/> (a concurrency sweep of it finds exactly this knee); null: pocketsphinx.
    /// </summary>
    public int? AsrSlots { get; set; }

    public TimeSpan AsrServiceTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A chat script (<see cref="SimChatScript"/>, JSON) the demo's model servers answer chat completions from, so a
    /// client such as the transcript referee meets scripted valid, invalid, slow and failing answers; empty: the fixed reply.
    /// </summary>
    public string? ChatScript { get; set; }

    public const string ChatScriptKey = Section + ":" + nameof(ChatScript);

    /// <summary>The parsed <see cref="ChatScript"/>; null when none is set. Throws a <see cref="FormatException"/> naming the key.</summary>
    public SimChatScript? LoadChatScript() => string.IsNullOrEmpty(ChatScript) ? null : SimChatScript.Load(ChatScript, ChatScriptKey);
}

/// <summary>Validates <see cref="DemoOptions"/>, naming each bad key.</summary>
public sealed class DemoOptionsValidator : IValidateOptions<DemoOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoOptions options)
    {
        var errors = new List<string>();
        if (options.LoadTime is { } load && load < TimeSpan.Zero)
        {
            errors.Add("Demo:LoadTime must not be negative");
        }

        if (!double.IsFinite(options.LoadSecondsPerGiB) || options.LoadSecondsPerGiB < 0)
        {
            errors.Add("Demo:LoadSecondsPerGiB must be zero or more");
        }

        if (!double.IsFinite(options.TokensPerSecond) || options.TokensPerSecond <= 0)
        {
            errors.Add("Demo:TokensPerSecond must be more than zero");
        }

        if (!double.IsFinite(options.GpuReplaySpeed) || options.GpuReplaySpeed <= 0)
        {
            errors.Add("Demo:GpuReplaySpeed must be more than zero");
        }

        if (options.GpuSampleInterval <= TimeSpan.Zero)
        {
            errors.Add("Demo:GpuSampleInterval must be a positive duration like 00:00:01");
        }

        if (options.AsrSlots is < 1 or > 64)
        {
            errors.Add($"Demo:AsrSlots must be between 1 and 64, not {options.AsrSlots}");
        }

        if (options.AsrServiceTime <= TimeSpan.Zero || options.AsrServiceTime > TimeSpan.FromMinutes(10))
        {
            errors.Add("Demo:AsrServiceTime must be a positive duration up to 00:10:00, like 00:00:01");
        }

        if (!string.IsNullOrEmpty(options.GpuReplay) && !File.Exists(options.GpuReplay))
        {
            errors.Add($"Demo:GpuReplay names '{options.GpuReplay}', which does not exist");
        }

        try
        {
            options.LoadChatScript();
        }
        catch (FormatException ex)
        {
            errors.Add(ex.Message);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
