using SparkControl.Core.Catalog;
using SparkControl.Core.Collections;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Launch;
using SparkControl.Core.Remote;

namespace SparkControl.Core.Swaps;

/// <summary>What Preflight found: the plan, what runs now, the memory budgets, and whether weights must be fetched.</summary>
internal sealed record PreflightFindings(
    LaunchPlan? Plan,
    string? PreviousModelId,
    IReadOnlyList<(SparkEntry Entry, IReadOnlyList<ContainerSummary> Models)> Running,
    ValueArray<MemoryBudget> Budgets,
    HfDownload? Download,
    ValueArray<string> Blockers,
    ValueArray<string> Warnings,
    ValueArray<string> Services,
    bool AlreadyServing);

/// <summary>The checks before anything changes: the weights are there (or fit on disk), and the model fits in memory.</summary>
internal static class SwapPreflight
{
    /// <summary>
    /// The verdict the confirm dialog shows: the blockers the swap's own Preflight would fail on (the same inspection),
    /// and first the swap that holds the Sparks now, which <see cref="SwapOrchestrator.Start(SwapRequest)"/> refuses.
    /// </summary>
    public static async Task<SwapPreview> PreviewAsync(SwapContext context, SwapRequest request, ModelDefinition? model, IReadOnlyList<SparkEntry> entries, SwapStatus? running, CancellationToken cancellationToken)
    {
        var found = await InspectAsync(context, request, model, entries, cancellationToken).ConfigureAwait(false);
        return new SwapPreview(model?.Id, request.Target, [.. entries.Select(e => e.Name)], found.PreviousModelId, found.Plan?.CommandLine)
        {
            Budgets = found.Budgets,
            NeedsDownload = found.Download is not null,
            DownloadBytes = found.Download?.ExpectedBytes,
            Blockers = running is null ? found.Blockers : [SwapConflictException.Describe(running), .. found.Blockers],
            Warnings = found.Warnings,
            Services = found.Services,
            RunningSwapId = running?.Id,
        };
    }

    public static async Task<PreflightFindings> InspectAsync(SwapContext context, SwapRequest request, ModelDefinition? model, IReadOnlyList<SparkEntry> entries, CancellationToken cancellationToken)
    {
        var head = entries[0];
        var plan = model is null ? null : await context.Planner.PlanAsync(model, head, cancellationToken).ConfigureAwait(false);
        var running = new List<(SparkEntry, IReadOnlyList<ContainerSummary>)>();
        foreach (var entry in entries)
        {
            running.Add((entry, await SwapRun.FindModelContainersAsync(entry, cancellationToken).ConfigureAwait(false)));
        }

        var previous = running.SelectMany(r => r.Item2).Select(c => c.Labels.GetValueOrDefault(ContainerLabels.Model)).FirstOrDefault(m => m is not null);
        // The same model with other LoRA adapters is started again: the running server cannot load or drop them.
        var servedAdapters = running.SelectMany(r => r.Item2).Select(c => c.Labels.GetValueOrDefault(ContainerLabels.Adapters)).FirstOrDefault(a => a is not null) ?? string.Empty;
        var alreadyServing = model is not null && previous == model.Id && servedAdapters == (plan?.Container?.Spec.Labels.GetValueOrDefault(ContainerLabels.Adapters) ?? string.Empty);
        var blockers = new List<string>(plan?.Blockers ?? []);
        var warnings = new List<string>(plan?.Warnings ?? []);

        var download = model is not null && !alreadyServing ? await FindDownloadAsync(model, entries, blockers, warnings, cancellationToken).ConfigureAwait(false) : null;
        if (model is { Source: LocalSource shared, Placement: ModelPlacement.Cluster } && !alreadyServing)
        {
            blockers.AddRange((await LocalModelInspector.CheckOnEveryNodeAsync(shared.Path, entries, cancellationToken).ConfigureAwait(false)).Problems);
        }

        var budgets = new List<MemoryBudget>();
        var stop = request.StopServices.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var services = new List<string>();
        foreach (var (entry, models) in running)
        {
            var budget = await BudgetAsync(context, entry, model, models, stop, cancellationToken).ConfigureAwait(false) with { WeightsGiB = WeightsOn(model, entry == head, entries.Count) };
            budgets.Add(budget);
            services.AddRange(context.Fleet.Current.ServicesOn(entry.Name).Where(s => s.Container is not null).Select(s => s.Name));
            if (!budget.Fits && !alreadyServing)
            {
                blockers.Add(budget.Summary);
            }

            if (budget.WeightsWarning is { } heavy && !alreadyServing)
            {
                warnings.Add(heavy);
            }
        }

        foreach (var name in stop.Where(n => !services.Contains(n, StringComparer.OrdinalIgnoreCase)))
        {
            blockers.Add($"There is no service '{name}' with a container on {string.Join(" or ", entries.Select(e => e.Name))} to stop.");
        }

        return new PreflightFindings(plan, previous, running, [.. budgets], download, [.. blockers], [.. warnings], [.. services.Distinct(StringComparer.OrdinalIgnoreCase)], alreadyServing);
    }

    /// <summary>
    /// The download the swap needs first: none when every node's HF cache holds the weights (or the model is a NIM, which
    /// fetches its own); a node other than the head missing them, or a disk too small, is a blocker.
    /// </summary>
    private static async Task<HfDownload?> FindDownloadAsync(ModelDefinition model, IReadOnlyList<SparkEntry> entries, List<string> blockers, List<string> warnings, CancellationToken cancellationToken)
    {
        if (model is not { Source: HuggingFaceSource hf, Runtime: not ModelRuntime.Nim })
        {
            return null;
        }

        HfDownload? download = null;
        var expected = model.DownloadSizeGiB is { } size ? (long)(size * (1L << 30)) : (long?)null;
        foreach (var entry in entries)
        {
            var cache = await entry.Host.ExpandHomeAsync(entry.Definition.HfCachePath, cancellationToken).ConfigureAwait(false);
            var wanted = new HfDownload(hf.Repo, hf.Revision, cache, expected);
            if (await IsPresentAsync(entry.Host, wanted, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            if (entry != entries[0])
            {
                blockers.Add($"{model.Id} is not in {entry.Name}'s HF cache; launch-cluster.sh needs the weights on every node. Download it there first.");
                continue;
            }

            download = wanted;
            var space = await entry.Host.GetDiskSpaceAsync(cache, cancellationToken).ConfigureAwait(false);
            if (expected is { } bytes && space is { } free && free.AvailableBytes < bytes)
            {
                blockers.Add($"{model.Id} needs {Units.ByteSize.FormatGiB(MemoryBudget.ToGiB(bytes))} on {entry.Name} but {space.MountPoint} has {Units.ByteSize.FormatGiB(MemoryBudget.ToGiB(free.AvailableBytes))} free.");
            }
            else if (expected is null)
            {
                warnings.Add($"{model.Id} is not on {entry.Name} yet and its size is unknown: the download's progress cannot be shown as a fraction.");
            }
        }

        return download;
    }

    /// <summary>The HF cache holds the repo, and at least 90% of the expected bytes when the size is known (a partial download does not count).</summary>
    private static async Task<bool> IsPresentAsync(ISparkHost host, HfDownload download, CancellationToken cancellationToken)
    {
        if (!await host.PathExistsAsync(download.CacheFolder, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        // An interrupted download leaves blobs/*.incomplete; the server runs offline, so such weights are fetched again.
        var blobs = await host.ListDirectoryAsync(download.CacheFolder + "/blobs", cancellationToken).ConfigureAwait(false);
        if (blobs.Any(b => b.Name.EndsWith(".incomplete", StringComparison.Ordinal)))
        {
            return false;
        }

        return download.ExpectedBytes is not { } expected
            || await host.GetDiskUsageAsync(download.CacheFolder, cancellationToken).ConfigureAwait(false) >= expected * 0.9;
    }

    private static async Task<MemoryBudget> BudgetAsync(SwapContext context, SparkEntry entry, ModelDefinition? model, IReadOnlyList<ContainerSummary> models, HashSet<string> stop, CancellationToken cancellationToken)
    {
        var memory = await entry.Host.GetMemoryInfoAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<GpuComputeApp> apps;
        try
        {
            apps = await entry.Host.GetComputeAppsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SparkCommandException)
        {
            // No nvidia-smi (or no GPU): the budget stands on /proc/meminfo alone.
            apps = [];
        }

        var total = MemoryBudget.ToGiB(memory.TotalBytes);
        var freed = new List<BudgetItem>();
        foreach (var running in models)
        {
            var id = running.Labels.GetValueOrDefault(ContainerLabels.Model);
            freed.Add(id is not null && context.Catalog.Current.Find(id) is { } old
                ? Reservation(old, total)
                : new BudgetItem(running.Name, 0, "unknown model: its memory is not counted as freed"));
        }

        var staying = new List<BudgetItem>();
        foreach (var service in context.Fleet.Current.ServicesOn(entry.Name))
        {
            var item = new BudgetItem(service.Name, service.MemoryEstimateGiB ?? 0, service.MemoryEstimateGiB is null ? "no memoryEstimateGiB in services.yaml" : "services.yaml estimate");
            (stop.Contains(service.Name) ? freed : staying).Add(item);
        }

        return new MemoryBudget
        {
            Spark = entry.Name,
            TotalGiB = total,
            AvailableGiB = MemoryBudget.ToGiB(memory.AvailableBytes),
            ReserveGiB = context.Swap.SystemReserveGiB,
            Model = model is null ? new BudgetItem("no model", 0, "unload") : Reservation(model, total),
            Services = [.. staying],
            Freed = [.. freed],
            GpuProcesses = [.. apps.Select(a => new BudgetItem($"{a.ProcessName} (pid {a.Pid})", (a.UsedMemoryMiB ?? 0) / 1024, a.UsedMemoryMiB is null ? "not reported (GB10)" : "nvidia-smi"))],
        };
    }

    /// <summary>
    /// The weights a Spark holds: all of them on the one a single model runs on, a share of them on each node of a cluster
    /// model (tensor parallel splits them); unknown without a download size, and not counted for a NIM, which picks its own.
    /// </summary>
    private static double? WeightsOn(ModelDefinition? model, bool head, int nodes) => model switch
    {
        null or { Runtime: ModelRuntime.Nim } or { DownloadSizeGiB: null } => null,
        { Placement: ModelPlacement.Cluster } => model.DownloadSizeGiB / nodes,
        _ => head ? model.DownloadSizeGiB : null,
    };

    /// <summary>vLLM takes gpu-memory-utilization of the whole pool; NIM its estimate (else vLLM's default share).</summary>
    public static BudgetItem Reservation(ModelDefinition model, double totalGiB) =>
        model.Runtime == ModelRuntime.Nim && model.MemoryEstimateGiB is { } estimate
            ? new BudgetItem(model.Id, estimate, "catalog estimate")
            : new BudgetItem(model.Id, model.Flags.EffectiveGpuMemoryUtilization * totalGiB, $"gpu-memory-utilization {model.Flags.EffectiveGpuMemoryUtilization:0.##} × MemTotal");
}
