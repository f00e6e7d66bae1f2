using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Launch;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;
using SparkControl.Core.Swaps;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Nim;

/// <summary>Where an install is.</summary>
public enum NimInstallPhase
{
    Pulling,
    Starting,
    Ready,
    Failed,
}

/// <summary>One install as the page and <c>GET /api/nim/{id}</c> show it.</summary>
public sealed record NimInstallStatus
{
    public required string Id { get; init; }
    public required NimInstallRequest Request { get; init; }
    public required string Requester { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public NimInstallPhase Phase { get; init; } = NimInstallPhase.Pulling;
    public required RemoteImage Image { get; init; }
    public int LayersDone { get; init; }
    public int LayersTotal { get; init; }
    public string Message { get; init; } = "pulling";

    /// <summary>The pull's last lines, as the CLI printed them.</summary>
    public ImmutableList<string> Lines { get; init; } = [];

    /// <summary>The swap that starts a model install.</summary>
    public string? SwapId { get; init; }

    public string? Error { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public bool Finished => Phase is NimInstallPhase.Ready or NimInstallPhase.Failed;
}

/// <summary>
/// Installs NIM containers: refusals before anything runs (no NGC key, a registry not in <c>Nim:Registries</c>, a name
/// or port already taken, too little disk for the image), then <c>docker pull</c> with its layers counted, registration,
/// and the first start: a swap to the new model, or a service container of its own, ready on <c>/v1/health/ready</c>.
/// The key reaches the Spark only on stdin: for <c>docker login</c>, and for the 0600 env file the container reads.
/// </summary>
public sealed partial class NimInstaller(
    SparkFleet fleet,
    SecretStore secrets,
    IOptionsMonitor<NimOptions> options,
    CatalogStore catalog,
    ServiceSettingsStore services,
    SwapOrchestrator swaps,
    HttpClient probe,
    TimeProvider time,
    ILogger<NimInstaller> logger) : IDisposable
{
    private const int KeptLines = 12;
    private readonly JobTable<NimInstallStatus> _installs = new(i => i.Id, i => i.StartedAt);

    // Stopping the panel ends a pull (and its SSH stream) rather than leaving it to run against a disposed host.
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Raised on every change of an install, from the install's own task.</summary>
    public event Action<NimInstallStatus>? Changed
    {
        add => _installs.Changed += value;
        remove => _installs.Changed -= value;
    }

    public NimInstallStatus? Find(string id) => _installs.Find(id);

    public IReadOnlyList<NimInstallStatus> All => _installs.All;

    /// <summary>
    /// Checks <paramref name="request"/> (400 for a field, 409 for a refusal), logs in to the image's registry and reads
    /// its manifest for the disk check, then starts the install and returns it at once.
    /// </summary>
    public async Task<NimInstallStatus> StartAsync(NimInstallRequest request, string requester, CancellationToken cancellationToken)
    {
        var errors = NimInstallRequest.Validate(request, fleet.Current);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var key = Refusals(request);
        var spark = fleet.Current.Find(request.Spark)!;
        var image = await InspectAsync(spark.Host, request.Image, key, cancellationToken).ConfigureAwait(false);
        if (image.Store is { } store && store.AvailableBytes < image.NeededBytes)
        {
            throw new SettingsConflictException($"{request.Spark} has {Gib(store.AvailableBytes)} GiB free on {store.MountPoint}, where docker keeps images; {request.Image} needs about {Gib(image.NeededBytes)} GiB ({image.Layers} layers, {Gib(image.CompressedBytes)} GiB to download, about twice that unpacked). Free space (docker image prune, the weights cleanup) and try again.");
        }

        var status = new NimInstallStatus
        {
            Id = JobTable<NimInstallStatus>.NewId(),
            Request = request,
            Requester = requester,
            StartedAt = time.GetUtcNow(),
            Image = image,
            LayersTotal = image.Layers,
        };
        // The remote checks took a moment: another request for the same install may have started meanwhile.
        if (_installs.TryAdd(status, _ => Running(request)) is { } running)
        {
            throw new SettingsConflictException($"{running.Request.Image} is already being installed on {request.Spark} as {running.Request.ModelId}; wait for that install to end.");
        }

        LogStarted(request.Image, request.Spark, requester);
        _ = Task.Run(() => RunAsync(status.Id, spark, _stopping.Token), CancellationToken.None);
        return status;
    }

    private NimInstallStatus? Running(NimInstallRequest request) => _installs.All.FirstOrDefault(i => !i.Finished
        && string.Equals(i.Request.Spark, request.Spark, StringComparison.OrdinalIgnoreCase)
        && (i.Request.Image == request.Image || i.Request.ModelId == request.ModelId));

    /// <summary>What refuses the install before anything reaches the Spark; returns the NGC key otherwise.</summary>
    private string Refusals(NimInstallRequest request)
    {
        var key = secrets.Reveal(SecretStore.NgcApiKey)
            ?? throw new SettingsConflictException($"No NGC API key is stored: add the secret '{SecretStore.NgcApiKey}' in Settings → Secrets (an nvapi- key from ngc.nvidia.com), then install again.");
        if (options.CurrentValue.RegistryRefusal(request.Image) is { } refusal)
        {
            throw new SettingsConflictException(refusal);
        }

        if (Running(request) is { } running)
        {
            throw new SettingsConflictException($"{running.Request.Image} is already being installed on {request.Spark} as {running.Request.ModelId}; wait for that install to end.");
        }

        if (request.RegisterModel)
        {
            var model = request.ToModel();
            if (catalog.Current.Find(model.Id) is { } existing)
            {
                throw new SettingsConflictException($"A model with id '{model.Id}' already exists ({existing.DisplayName}); choose another served name.");
            }

            if (ServedNames.Clash(model, catalog.Current.Models) is { } clash)
            {
                throw new SettingsConflictException($"The {clash}; choose another served name.");
            }
        }

        var onSpark = fleet.Current.ServicesOn(request.Spark).ToList();
        if (request.RegisterService && onSpark.FirstOrDefault(s => string.Equals(s.Name, request.ModelId, StringComparison.OrdinalIgnoreCase)) is { } named)
        {
            throw new SettingsConflictException($"{request.Spark} already has a service named '{named.Name}'; choose another served name.");
        }

        if (onSpark.FirstOrDefault(s => s.Port == request.Port) is { } taken)
        {
            throw new SettingsConflictException($"Port {request.Port} on {request.Spark} belongs to the service {taken.Name}; choose another port.");
        }

        return key;
    }

    /// <summary>Logs in to the image's registry (the key on stdin) and reads what the pull would fetch; a refusal is a 409.</summary>
    private static async Task<RemoteImage> InspectAsync(ISparkHost host, string image, string key, CancellationToken cancellationToken)
    {
        var registry = ImageRegistry.Of(image);
        try
        {
            await host.RegistryLoginAsync(registry, LaunchSpecs.NimRegistryUser, key, cancellationToken).ConfigureAwait(false);
        }
        catch (SparkCommandException ex)
        {
            throw new SettingsConflictException($"{registry} refused the NGC key ({ex.Message}). Check the key in Settings → Secrets.");
        }

        try
        {
            return await host.InspectRemoteImageAsync(image, cancellationToken).ConfigureAwait(false);
        }
        catch (SparkCommandException ex)
        {
            throw new SettingsConflictException($"{registry} has no image {image} that {host.Name} may pull ({ex.Message}). Check the name and tag on the NGC catalog page.");
        }
        catch (FormatException ex)
        {
            throw new SettingsConflictException($"{image} cannot run on {host.Name}: {ex.Message}.");
        }
    }

    private async Task RunAsync(string id, SparkEntry spark, CancellationToken stopping)
    {
        var request = _installs.Find(id)!.Request;
        try
        {
            await PullAsync(id, spark.Host, request.Image, stopping).ConfigureAwait(false);
            Update(id, s => s with { Phase = NimInstallPhase.Starting, Message = $"pulled; starting {request.ServedName}" });
            if (request.RegisterModel)
            {
                await StartAsModelAsync(id, request, stopping).ConfigureAwait(false);
            }
            else
            {
                await StartAsServiceAsync(id, spark, request, stopping).ConfigureAwait(false);
            }

            if (request.RegisterService)
            {
                await services.AddAsync(request.ToService(), stopping).ConfigureAwait(false);
            }

            Update(id, s => s with { Phase = NimInstallPhase.Ready, Message = $"{request.ServedName} is ready on {request.Spark}", EndedAt = time.GetUtcNow() });
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Update(id, s => s with { Phase = NimInstallPhase.Failed, Error = "the panel stopped during the install; install again once it runs (layers already pulled are kept)", Message = "failed", EndedAt = time.GetUtcNow() });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailed(ex, request.Image, request.Spark);
            Update(id, s => s with { Phase = NimInstallPhase.Failed, Error = ex.Message, Message = "failed", EndedAt = time.GetUtcNow() });
        }
    }

    private async Task PullAsync(string id, ISparkHost host, string image, CancellationToken stopping)
    {
        await foreach (var progress in host.PullImageAsync(image, stopping).ConfigureAwait(false))
        {
            Update(id, s => s with
            {
                LayersDone = progress.LayersDone,
                LayersTotal = Math.Max(progress.LayersTotal, s.LayersTotal),
                Message = progress.Completed ? "pulled" : $"pulling: {progress.LayersDone} of {Math.Max(progress.LayersTotal, s.LayersTotal)} layers",
                Lines = s.Lines.Count >= KeptLines ? s.Lines.RemoveAt(0).Add(progress.Line) : s.Lines.Add(progress.Line),
            });
        }
    }

    /// <summary>Registers the model and swaps to it: the swap logs in, writes the env file, starts and waits for ready.</summary>
    private async Task StartAsModelAsync(string id, NimInstallRequest request, CancellationToken stopping)
    {
        await catalog.AddAsync(request.ToModel(), stopping).ConfigureAwait(false);
        var swap = swaps.Start(new SwapRequest(request.ModelId, request.Spark, _installs.Find(id)!.Requester));
        Update(id, s => s with { SwapId = swap.Id, Message = $"registered {request.ModelId}; swapping {request.Spark} to it" });
        var ended = await swaps.WaitAsync(swap.Id, stopping).ConfigureAwait(false);
        if (ended.Phase != SwapPhase.Ready)
        {
            throw new InvalidOperationException($"{request.ModelId} is registered, but the swap to it ended {ended.Phase.ToString().ToLowerInvariant()}: {ended.Failure?.Message ?? ended.Message}. Its log is on the swap's page; swap to it again from Models once fixed.");
        }
    }

    /// <summary>Starts the NIM as a service container of its own (key in the env file, removed once read) and waits for ready.</summary>
    private async Task StartAsServiceAsync(string id, SparkEntry spark, NimInstallRequest request, CancellationToken stopping)
    {
        var host = spark.Host;
        var model = request.ToModel();
        var cache = await host.ExpandHomeAsync(model.NimCache ?? LaunchSpecs.NimCachePath, stopping).ConfigureAwait(false);
        var envFile = await host.WriteSecretsEnvFileAsync(new Dictionary<string, string> { ["NGC_API_KEY"] = secrets.Reveal(SecretStore.NgcApiKey) ?? string.Empty }, stopping).ConfigureAwait(false);
        var spec = LaunchSpecs.Nim(model, spark.Definition, cache, envFile) with
        {
            Name = request.ServiceContainer,
            Labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new KeyValuePair<string, string>(ContainerLabels.Port, request.Port.ToString(CultureInfo.InvariantCulture))]),
            MemoryLimitBytes = (long)(request.MemoryEstimateGiB * (1L << 30)),
        };
        try
        {
            if (await host.InspectContainerAsync(spec.Name, stopping).ConfigureAwait(false) is not null)
            {
                await host.RemoveContainerAsync(spec.Name, stopping).ConfigureAwait(false);
            }

            await host.RunContainerAsync(ContainerLaunch.Of(spec), stopping).ConfigureAwait(false);
        }
        finally
        {
            await host.RemoveSecretsEnvFileAsync(CancellationToken.None).ConfigureAwait(false);
        }

        Update(id, s => s with { Message = $"{spec.Name} runs; waiting for /v1/health/ready" });
        await WaitReadyAsync(host, spec.Name, request, stopping).ConfigureAwait(false);
    }

    private async Task WaitReadyAsync(ISparkHost host, string container, NimInstallRequest request, CancellationToken stopping)
    {
        var ready = new Uri(host.GetEndpoint(request.Port), ServiceKind.Nim.DefaultHealthPath());
        var deadline = time.GetTimestamp();
        while (time.GetElapsedTime(deadline) < ReadyTimeout)
        {
            if (await host.InspectContainerAsync(container, stopping).ConfigureAwait(false) is { Status: not ContainerStatus.Running } stopped)
            {
                var tail = await host.GetLogsAsync(container, LogQuery.Last(5), stopping).ConfigureAwait(false);
                throw new InvalidOperationException($"{container} exited ({stopped.ExitCode}) before it was ready: {string.Join(" | ", tail)}");
            }

            try
            {
                using var answer = await probe.GetAsync(ready, stopping).ConfigureAwait(false);
                if (answer.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet: NIM opens its port once its server starts, and answers 503 until the model is loaded.
            }

            await Task.Delay(TimeSpan.FromSeconds(1), time, stopping).ConfigureAwait(false);
        }

        throw new TimeoutException($"{container} was not ready on /v1/health/ready within {ReadyTimeout.TotalMinutes:0} minutes; it still runs, see its log on the Services page.");
    }

    /// <summary>How long a first start may take: a NIM downloads its model profile from NGC on first start.</summary>
    public static TimeSpan ReadyTimeout { get; } = TimeSpan.FromMinutes(60);

    private void Update(string id, Func<NimInstallStatus, NimInstallStatus> change) => _installs.Update(id, change);

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installing NIM {Image} on {Spark} for {Requester}")]
    private partial void LogStarted(string image, string spark, string requester);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The NIM install of {Image} on {Spark} failed")]
    private partial void LogFailed(Exception exception, string image, string spark);
}
