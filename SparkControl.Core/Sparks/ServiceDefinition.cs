using System.Collections.Immutable;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Sparks;

/// <summary>What kind of service runs, which decides how its health is probed.</summary>
public enum ServiceKind
{
    VllmLlm,
    ParakeetAsr,
    Tts,
    Embeddings,
    Qdrant,
    OpenWebUi,
    Nim,
    Other,
}

public static class ServiceKindNames
{
    private static readonly ImmutableDictionary<ServiceKind, string> Names = new Dictionary<ServiceKind, string>
    {
        [ServiceKind.VllmLlm] = "vllm-llm",
        [ServiceKind.ParakeetAsr] = "parakeet-asr",
        [ServiceKind.Tts] = "tts",
        [ServiceKind.Embeddings] = "embeddings",
        [ServiceKind.Qdrant] = "qdrant",
        [ServiceKind.OpenWebUi] = "open-webui",
        [ServiceKind.Nim] = "nim",
        [ServiceKind.Other] = "other",
    }.ToImmutableDictionary();

    public static string ToYaml(this ServiceKind kind) => Names[kind];

    public static ServiceKind? Parse(string? text) =>
        Names.FirstOrDefault(pair => pair.Value == text) is { Value: not null } match ? match.Key : null;

    public static IEnumerable<string> All => Names.Values;

    /// <summary>The path probed when a service does not name its own.</summary>
    public static string DefaultHealthPath(this ServiceKind kind) => kind switch
    {
        ServiceKind.Nim => "/v1/health/ready",
        ServiceKind.Qdrant => "/readyz",
        _ => "/health",
    };
}

/// <summary>A model name an audio service answers to at the gateway, with the other names clients may use for it.</summary>
public sealed record ServiceModelName(string Name, ValueArray<string> Aliases);

/// <summary>What an audio service does for the gateway's <c>/v1/audio/*</c> routes.</summary>
public enum AudioRole
{
    /// <summary>Speech to text: <c>/v1/audio/transcriptions</c> and <c>/v1/audio/translations</c>.</summary>
    Transcription,

    /// <summary>Text to speech: <c>/v1/audio/speech</c>.</summary>
    Speech,
}

/// <summary>A link shown on a service's card and detail page.</summary>
public sealed record ServiceLink(string Title, string Url);

/// <summary>One service on one Spark as configured in <c>services.yaml</c>.</summary>
public sealed record ServiceDefinition
{
    public required string Spark { get; init; }
    public required string Name { get; init; }
    public required ServiceKind Kind { get; init; }

    /// <summary>The container the service runs in; null for a service probed by URL only.</summary>
    public string? Container { get; init; }

    /// <summary>The port it listens on, on the Spark.</summary>
    public int? Port { get; init; }

    /// <summary>
    /// Qdrant's gRPC port, on the Spark; null means the port after <see cref="Port"/> (Qdrant pairs REST's 6333 with
    /// gRPC's 6334).
    /// </summary>
    public int? GrpcPort { get; init; }

    public int EffectiveGrpcPort => GrpcPort ?? (Port is { } rest ? rest + 1 : 6334);

    /// <summary>A base URL that overrides the Spark's address and <see cref="Port"/>.</summary>
    public string? Url { get; init; }

    /// <summary>The probe path; null means the kind's default.</summary>
    public string? HealthPath { get; init; }

    /// <summary>A configured memory cap (<c>docker update --memory X --memory-swap X</c>).</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Memory the service is expected to hold in the unified pool, for the swap's memory budget.</summary>
    public double? MemoryEstimateGiB { get; init; }

    public ValueArray<ServiceLink> Links { get; init; } = [];

    /// <summary>
    /// The model names the service answers to at the gateway (audio services): a request naming one, or one of its
    /// aliases, is sent here under <see cref="ServiceModelName.Name"/>.
    /// </summary>
    public ValueArray<ServiceModelName> Models { get; init; } = [];

    /// <summary>Requests the gateway sends this worker at once; null means <see cref="DefaultMaxInFlight"/>.</summary>
    public int? MaxInFlight { get; init; }

    /// <summary>The knee a concurrency sweep measured for this worker: it lifts the hand-set ceiling of <see cref="MaxInFlight"/>.</summary>
    public int? MeasuredKnee { get; init; }

    /// <summary>The in-flight cap until an operator sets one: the earlier tool's reasoned value.</summary>
    public const int DefaultMaxInFlight = 2;

    /// <summary>The highest cap an operator may set by hand until a sweep has measured more.</summary>
    public const int UnmeasuredCeiling = 3;

    /// <summary>The most a sweep may lift the cap to.</summary>
    public const int HighestCap = 64;

    public int EffectiveMaxInFlight => MaxInFlight ?? DefaultMaxInFlight;

    /// <summary>What the service does at the gateway's audio routes: speech for TTS, transcription for any other kind that names models.</summary>
    public AudioRole? Audio => Models.IsEmpty ? null : Kind == ServiceKind.Tts ? AudioRole.Speech : AudioRole.Transcription;

    public string EffectiveHealthPath => HealthPath ?? Kind.DefaultHealthPath();

    public string Key => $"{Spark}/{Name}";
}
