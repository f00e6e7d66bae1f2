using System.Collections.Immutable;
using SparkControl.Core.Collections;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Operations;

/// <summary>How an alert is put into the webhook's request.</summary>
public enum AlertFormat
{
    /// <summary>One JSON object with every field (for scripts, Home Assistant, n8n).</summary>
    Json,

    /// <summary>The message as plain text with a Title header, as ntfy takes it.</summary>
    Ntfy,

    /// <summary><c>{"text": "..."}</c>, as Slack, Mattermost and Discord's Slack-compatible hooks take it.</summary>
    Slack,
}

/// <summary>What an alert is about.</summary>
public enum AlertKind
{
    ServiceDown,
    SwapFailed,
    Disk,
    Memory,
}

/// <summary>
/// One webhook that receives alerts: what it hears about and the thresholds of the two gauges. Its address is a
/// secret (<c>alert-webhook-NAME</c> in secrets.yaml): Slack and ntfy addresses carry their token.
/// </summary>
public sealed record AlertTarget
{
    public const int DefaultDiskPercent = 90;
    public const int DefaultMemoryPercent = 95;

    public required string Name { get; init; }
    public AlertFormat Format { get; init; } = AlertFormat.Json;
    public ValueArray<AlertKind> Kinds { get; init; } = [AlertKind.ServiceDown, AlertKind.SwapFailed, AlertKind.Disk, AlertKind.Memory];

    /// <summary>A file system holding <c>/</c> or the HF cache fuller than this (percent used) is an alert.</summary>
    public int DiskPercent { get; init; } = DefaultDiskPercent;

    /// <summary>Unified memory in use above this (percent of total) is an alert.</summary>
    public int MemoryPercent { get; init; } = DefaultMemoryPercent;

    public bool Hears(AlertKind kind) => Kinds.Contains(kind);

    public static string SecretName(string name) => $"alert-webhook-{name}";
}

public static class AlertNames
{
    public static readonly IReadOnlyList<string> Formats = ["json", "ntfy", "slack"];

    public static readonly IReadOnlyList<string> Kinds = ["service-down", "swap-failed", "disk", "memory"];

    public static string ToYaml(this AlertFormat format) => Formats[(int)format];

    public static string ToYaml(this AlertKind kind) => Kinds[(int)kind];

    public static AlertFormat? ParseFormat(string? text) => Formats.IndexOf(text ?? string.Empty) is var i and >= 0 ? (AlertFormat)i : null;

    public static AlertKind? ParseKind(string? text) => Kinds.IndexOf(text ?? string.Empty) is var i and >= 0 ? (AlertKind)i : null;

    private static int IndexOf(this IReadOnlyList<string> list, string value) => list.ToList().IndexOf(value);

    /// <summary>Every rule of a webhook's settings; the form, the API and the file share it.</summary>
    public static IReadOnlyList<FieldError> Validate(AlertTarget target)
    {
        var errors = new List<FieldError>();
        if (Validators.Name(target.Name) is { } name)
        {
            errors.Add(new FieldError("name", name));
        }

        if (target.Kinds.Count == 0)
        {
            errors.Add(new FieldError("kinds", $"kinds must name at least one of {string.Join(", ", Kinds)}"));
        }

        if (target.DiskPercent is < 50 or > 100)
        {
            errors.Add(new FieldError("diskPercent", $"diskPercent must be a whole percent between 50 and 100, not {target.DiskPercent}"));
        }

        if (target.MemoryPercent is < 50 or > 100)
        {
            errors.Add(new FieldError("memoryPercent", $"memoryPercent must be a whole percent between 50 and 100, not {target.MemoryPercent}"));
        }

        return errors;
    }
}

/// <summary>The webhooks in <c>alerts.yaml</c>, and what was wrong with the file if anything.</summary>
public sealed record AlertSettings(ImmutableArray<AlertTarget> Targets, ImmutableArray<ConfigProblem> Problems) : YamlList<AlertTarget>(Targets, Problems);

/// <summary>The alert webhooks: <c>alerts.yaml</c> in the data directory, edited from the Settings page.</summary>
public sealed class AlertSettingsStore(DataDirectory dataDirectory, TimeProvider time) : YamlListStore<AlertTarget, AlertSettings>(dataDirectory, time)
{
    public const string File = "alerts.yaml";

    protected override string FileName => File;

    protected override (ImmutableArray<AlertTarget> Items, ImmutableArray<ConfigProblem> Problems) Read(string text, string file)
    {
        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, file, problems);
        var targets = ImmutableArray.CreateBuilder<AlertTarget>();
        foreach (var entry in root.Maps("webhooks"))
        {
            var before = problems.Count;
            var target = ReadTarget(entry);
            if (problems.Count > before || target is null)
            {
                continue;
            }

            if (targets.Any(t => string.Equals(t.Name, target.Name, StringComparison.OrdinalIgnoreCase)))
            {
                entry.Problem($"webhook '{target.Name}' appears twice");
                continue;
            }

            targets.Add(target);
        }

        root.RejectUnknown();
        return (targets.ToImmutable(), [.. problems]);
    }

    private static AlertTarget? ReadTarget(YamlMap map)
    {
        var name = map.String("name", required: true);
        var formatText = map.String("format");
        var format = formatText is null ? AlertFormat.Json : AlertNames.ParseFormat(formatText);
        if (format is null)
        {
            map.ProblemAt("format", $"format '{formatText}' must be one of {string.Join(", ", AlertNames.Formats)}");
        }

        var kinds = new List<AlertKind>();
        foreach (var text in map.Has("kinds") ? map.Strings("kinds") : AlertNames.Kinds)
        {
            if (AlertNames.ParseKind(text) is { } kind)
            {
                kinds.Add(kind);
            }
            else
            {
                map.ProblemAt("kinds", $"kind '{text}' must be one of {string.Join(", ", AlertNames.Kinds)}");
            }
        }

        var target = new AlertTarget
        {
            Name = name ?? string.Empty,
            Format = format ?? AlertFormat.Json,
            Kinds = [.. kinds.Distinct()],
            DiskPercent = map.Int("diskPercent") ?? AlertTarget.DefaultDiskPercent,
            MemoryPercent = map.Int("memoryPercent") ?? AlertTarget.DefaultMemoryPercent,
        };
        map.RejectUnknown();
        foreach (var error in name is null ? [] : AlertNames.Validate(target))
        {
            map.ProblemAt(error.Field, error.Message);
        }

        return name is null ? null : target;
    }

    protected override string Write(IEnumerable<AlertTarget> items) => new YamlWriter()
        .Add("webhooks", items.Select(t => new YamlWriter()
            .Add("name", t.Name)
            .Add("format", t.Format.ToYaml())
            .Add("kinds", t.Kinds.Select(k => k.ToYaml()))
            .Add("diskPercent", t.DiskPercent)
            .Add("memoryPercent", t.MemoryPercent)))
        .ToYaml("Alert webhooks (their addresses are secrets: alert-webhook-NAME in secrets.yaml). Edited from the Settings page.");

    protected override AlertSettings Create(ImmutableArray<AlertTarget> items, ImmutableArray<ConfigProblem> problems) => new(items, problems);

    protected override IReadOnlyList<FieldError> Validate(AlertTarget item) => AlertNames.Validate(item);

    protected override string KeyOf(AlertTarget item) => item.Name;

    protected override string Describe(string key) => $"The webhook {key}";
}
