using SparkControl.Core.Catalog;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>An adapter to attach: a directory on a Spark; the name defaults to the directory's.</summary>
public sealed record AdapterBody(string? Name, string? Spark, string? Path, bool? ConfirmBaseMismatch);

/// <summary>A directory to check as an adapter for a model.</summary>
public sealed record AdapterCheckBody(string? Spark, string? Path);

/// <summary>
/// What attaching or detaching did: the model as it is now and, when the model was serving on the adapter's Spark, the
/// swap that starts it again with its new adapters (or why none could start).
/// </summary>
public sealed record AdapterChange(ModelDefinition Model, SwapStatus? Swap, string? Notice);

/// <summary>
/// Attaches LoRA adapters to base models and takes them off, the same way for the API and the Models page: check the
/// directory on its Spark, save to models.custom.yaml, and start the base model again where it serves, since vLLM
/// loads <c>--lora-modules</c> only when it starts.
/// </summary>
public sealed class AdapterRegistrar(CatalogStore store, SparkFleet fleet, HealthMonitor health, SwapOrchestrator swaps)
{
    public async Task<LoraAdapterCheck> CheckAsync(string modelId, AdapterCheckBody body, CancellationToken cancellationToken)
    {
        var model = store.Current.Find(modelId) ?? throw new KeyNotFoundException($"No model has the id '{modelId}'.");
        if (LoraAdapterInspector.CannotServe(model) is { } refusal)
        {
            throw new SettingsConflictException(refusal);
        }

        var entry = fleet.Current.Find(body.Spark ?? string.Empty)
            ?? throw new ValidationFailedException([new FieldError("spark", Validators.Name(body.Spark, "spark") ?? $"No Spark is named '{body.Spark}'.")]);
        if (LoraAdapter.CheckPath(body.Path) is { } error)
        {
            throw new ValidationFailedException([new FieldError("path", error)]);
        }

        return await LoraAdapterInspector.InspectAsync(entry.Host, entry.Definition, body.Path!, model, cancellationToken);
    }

    public async Task<AdapterChange> AttachAsync(string modelId, AdapterBody body, string? ifMatch, SwapRequester requester, CancellationToken cancellationToken)
    {
        var check = await CheckAsync(modelId, new AdapterCheckBody(body.Spark, body.Path), cancellationToken);
        var errors = check.Problems.ToList();
        if (check.BaseMismatch is { } mismatch && body.ConfirmBaseMismatch != true)
        {
            errors.Add(new FieldError("confirmBaseMismatch", $"{mismatch}; attach it anyway only if you know it fits (confirmBaseMismatch: true)"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var name = string.IsNullOrEmpty(body.Name) ? ModelIds.Derive(body.Path!) : body.Name;
        var model = await store.AttachAdapterAsync(modelId, new LoraAdapter(name, check.Spark, body.Path!, check.Rank!.Value, check.BaseModel), ifMatch, cancellationToken);
        return Restart(model, check.Spark, requester);
    }

    public async Task<AdapterChange> DetachAsync(string modelId, string name, string? ifMatch, SwapRequester requester, CancellationToken cancellationToken)
    {
        var adapter = store.Current.Find(modelId)?.Adapters.FirstOrDefault(a => a.Name == name);
        var model = await store.DetachAdapterAsync(modelId, name, ifMatch, cancellationToken);
        return adapter is null ? new AdapterChange(model, null, null) : Restart(model, adapter.Spark, requester);
    }

    /// <summary>Starts <paramref name="model"/> again on <paramref name="spark"/> if it serves there now, so its adapters change.</summary>
    private AdapterChange Restart(ModelDefinition model, string spark, SwapRequester requester)
    {
        var now = FleetView.Of(health.Current.Value, swaps.Board, store.Current, fleet.Current);
        if (now.Find(spark)?.Model?.ModelId != model.Id)
        {
            return new AdapterChange(model, null, null);
        }

        try
        {
            var swap = swaps.Start(new SwapRequest(model.Id, spark, requester.Actor) { RequesterAddress = requester.Address });
            return new AdapterChange(model, swap, $"{model.Id} is starting again on {spark} to load its adapters.");
        }
        catch (SwapConflictException conflict)
        {
            return new AdapterChange(model, null,
                $"Saved, but {model.Id} on {spark} still serves its previous adapters: {conflict.Message} Swap to {model.Id} again when it ends.");
        }
    }
}

/// <summary>Who asked for a change that may start a swap, for its audit entry.</summary>
public sealed record SwapRequester(string Actor, string? Address);
