using System.Collections.Frozen;
using System.Collections.Immutable;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Gateway;

/// <summary>
/// One audio service as the gateway sees it now: where it listens, the names it answers to, its in-flight cap, and
/// whether health last saw it Healthy (and when).
/// </summary>
public sealed record AudioWorker(string Spark, string Service, AudioRole Role, Uri Endpoint, ImmutableArray<ServiceModelName> Models, int MaxInFlight, bool Healthy, DateTimeOffset CheckedAt)
{
    public string Key => $"{Spark}/{Service}";

    /// <summary>The name this worker serves <paramref name="requested"/> under (its own name for an alias); null if it does not.</summary>
    public string? UpstreamFor(string requested) =>
        Models.FirstOrDefault(m => m.Name == requested || m.Aliases.Contains(requested))?.Name;
}

/// <summary>Where an audio request for a model name goes.</summary>
public abstract record AudioResolution
{
    private AudioResolution()
    {
    }

    /// <summary>These workers answer to the name (healthy or not: the capacity decides which may take it).</summary>
    public sealed record Workers(ImmutableArray<AudioWorker> All) : AudioResolution;

    /// <summary>The name belongs to an audio service of the other role (a TTS model asked to transcribe).</summary>
    public sealed record OtherRole(AudioRole Role) : AudioResolution;

    /// <summary>No audio service answers to the name; <see cref="Available"/> lists those that do for the role.</summary>
    public sealed record Unknown(ImmutableArray<string> Available) : AudioResolution;
}

/// <summary>
/// The gateway's audio table: every service of <c>services.yaml</c> that names models, with the health monitor's view
/// of it, by model name and alias. Rebuilt only when the configuration or the health snapshot is replaced.
/// </summary>
public sealed class AudioRoutes(HealthMonitor health, SparkFleet fleet)
{
    private Table? _table;

    public AudioResolution Resolve(AudioRole role, string name)
    {
        var table = Current();
        if (table.ByName.TryGetValue(name, out var workers))
        {
            return workers[0].Role == role ? new AudioResolution.Workers(workers) : new AudioResolution.OtherRole(workers[0].Role);
        }

        return new AudioResolution.Unknown([.. table.Names.Where(n => table.ByName[n][0].Role == role)]);
    }

    /// <summary>Every audio worker configured, healthy or not.</summary>
    public ImmutableArray<AudioWorker> Workers() => Current().Workers;

    /// <summary>The model names (and aliases) some healthy worker answers to now, for <c>GET /v1/models</c>.</summary>
    public IEnumerable<(string Name, string Upstream, AudioWorker Worker)> Served() =>
        Current().Workers.Where(w => w.Healthy).SelectMany(w => w.Models.SelectMany(m => m.Aliases.Prepend(m.Name).Select(n => (n, m.Name, w))));

    private sealed record Table(FleetHealth Health, FleetConfiguration Fleet, ImmutableArray<AudioWorker> Workers, FrozenDictionary<string, ImmutableArray<AudioWorker>> ByName, ImmutableArray<string> Names);

    private Table Current()
    {
        var (healthNow, configuration) = (health.Current.Value, fleet.Current);
        var table = Volatile.Read(ref _table);
        if (table is not null && ReferenceEquals(table.Health, healthNow) && ReferenceEquals(table.Fleet, configuration))
        {
            return table;
        }

        var workers = configuration.Services.Where(s => s.Audio is not null).Select(s => Worker(s, healthNow)).OfType<AudioWorker>().ToImmutableArray();
        var byName = new Dictionary<string, List<AudioWorker>>(StringComparer.Ordinal);
        foreach (var worker in workers)
        {
            foreach (var name in worker.Models.SelectMany(m => m.Aliases.Prepend(m.Name)))
            {
                // One name, one role: a TTS worker cannot share a name with an ASR worker (the first configured wins).
                var list = byName.TryGetValue(name, out var existing) ? existing : byName[name] = [];
                if (list.Count == 0 || list[0].Role == worker.Role)
                {
                    list.Add(worker);
                }
            }
        }

        table = new Table(healthNow, configuration, workers, byName.ToFrozenDictionary(p => p.Key, p => p.Value.ToImmutableArray(), StringComparer.Ordinal),
            [.. byName.Keys.Order(StringComparer.Ordinal)]);
        Volatile.Write(ref _table, table);
        return table;
    }

    /// <summary>The worker for a configured audio service; null until health has found where it listens.</summary>
    private static AudioWorker? Worker(ServiceDefinition service, FleetHealth healthNow)
    {
        var seen = healthNow.Find(service.Spark, service.Name);
        if (seen?.Endpoint is not { } endpoint)
        {
            return null;
        }

        return new AudioWorker(service.Spark, service.Name, service.Audio!.Value, endpoint, service.Models.AsImmutableArray(), service.EffectiveMaxInFlight,
            seen.Status == HealthStatus.Healthy, seen.CheckedAt);
    }
}
