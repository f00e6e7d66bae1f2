using System.Collections.Immutable;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>
/// Owns the catalog's files: the shipped <c>models.yaml</c> (read-only), the operator's <c>models.custom.yaml</c> in
/// the data directory (added models and flag overrides), and the simulator's demo models. Each change is validated,
/// checked against the model's version, written atomically (one writer at a time) and published as a new immutable
/// <see cref="CatalogSnapshot"/>. A broken or unreadable custom file is reported with file and line and never overwritten.
/// </summary>
public sealed class CatalogStore
{
    public const string CustomFileName = "models.custom.yaml";

    private readonly DataDirectory _dataDirectory;
    private readonly ModelCatalog _catalog;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly object _gate = new();
    private ImmutableArray<ModelDefinition> _shipped = [];
    private ImmutableArray<ModelDefinition> _demo = [];
    private ImmutableArray<ConfigProblem> _shippedProblems = [];
    private CustomCatalog _custom;
    private ImmutableArray<ConfigProblem> _customProblems;

    /// <summary>The file's text as last read or written: a different text on disk is a hand edit.</summary>
    private string? _customText;

    public CatalogStore(DataDirectory dataDirectory, ModelCatalog catalog)
    {
        _dataDirectory = dataDirectory;
        _catalog = catalog;
        (_custom, _customProblems, _customText) = LoadCustom();
        Publish();
    }

    public string CustomFilePath => _dataDirectory.Resolve(CustomFileName);

    public CatalogSnapshot Current => _catalog.Current;

    /// <summary>Sets what the shipped and demo catalogs hold (the fleet decides whether the demo is on).</summary>
    public void SetSources(ImmutableArray<ModelDefinition> shipped, ImmutableArray<ConfigProblem> shippedProblems, ImmutableArray<ModelDefinition> demo)
    {
        lock (_gate)
        {
            _shipped = shipped;
            _shippedProblems = shippedProblems;
            _demo = demo;
        }

        Publish();
    }

    /// <summary>A short content hash: any change to a model's effective definition changes it.</summary>
    public static string Version(ModelDefinition model) =>
        ContentVersion.Of(new YamlWriter()
            .Add("model", CatalogYaml.WriteModel(model))
            .AddIf(!model.Adapters.IsEmpty, "adapters", model.Adapters.Select(a => CatalogYaml.WriteAdapter(model.Id, a)))
            .ToYaml());

    /// <summary>Adds an operator model whose weights no model has yet. Its id must be new; the definition must validate.</summary>
    public Task<ModelDefinition> AddAsync(ModelDefinition model, CancellationToken cancellationToken) => AddAsync(model, allowDuplicate: false, cancellationToken);

    /// <summary>
    /// Adds an operator model. Its id must be new; the definition must validate; a second model with the same weights
    /// only with <paramref name="allowDuplicate"/> (checked under the write lock, so two adds at once make one model).
    /// </summary>
    public async Task<ModelDefinition> AddAsync(ModelDefinition model, bool allowDuplicate, CancellationToken cancellationToken)
    {
        var errors = Validate(model);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        model = model with { Origin = ModelOrigin.Custom };
        await ChangeAsync(custom =>
        {
            DuplicateModelException.ThrowIfExists(Current, model.Source, allowDuplicate);
            if (Current.Find(model.Id) is not null)
            {
                throw new SettingsConflictException($"A model with id '{model.Id}' already exists; choose another id.");
            }

            if (ServedNames.Clash(model, Current.Models) is { } clash)
            {
                throw new SettingsConflictException($"The {clash}; choose another name.");
            }

            return custom with { Models = custom.Models.Add(model) };
        }, cancellationToken).ConfigureAwait(false);
        return Current.Find(model.Id)!;
    }

    /// <summary>Replaces a model's vLLM flags if its version is still <paramref name="ifMatch"/> (null skips the check).</summary>
    public async Task<ModelDefinition> UpdateFlagsAsync(string id, VllmFlags flags, string? ifMatch, CancellationToken cancellationToken)
    {
        var errors = VllmFlagRules.Validate(flags);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        return await ChangeModelAsync(id, ifMatch, own => own with { Flags = flags }, custom => custom with { Overrides = custom.Overrides.SetItem(id, flags) }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets how long the model may sit unused before it is unloaded (null: never) if its version is still
    /// <paramref name="ifMatch"/>; for a shipped or demo model the setting is kept in models.custom.yaml.
    /// </summary>
    public async Task<ModelDefinition> UpdateIdleAsync(string id, TimeSpan? after, string? ifMatch, CancellationToken cancellationToken)
    {
        if (Validators.IdleUnloadAfter(after) is { } error)
        {
            throw new ValidationFailedException([new FieldError("idleUnloadAfter", error)]);
        }

        return await ChangeModelAsync(id, ifMatch, own => own with { IdleUnloadAfter = after },
            custom => custom with { IdleOverrides = custom.IdleOverrides.SetItem(id, after ?? TimeSpan.Zero) }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes one model if its version is still <paramref name="ifMatch"/>: an operator model in place
    /// (<paramref name="changeOwn"/>), a shipped or demo one by an override in models.custom.yaml
    /// (<paramref name="changeOverride"/>).
    /// </summary>
    private async Task<ModelDefinition> ChangeModelAsync(
        string id, string? ifMatch, Func<ModelDefinition, ModelDefinition> changeOwn, Func<CustomCatalog, CustomCatalog> changeOverride, CancellationToken cancellationToken)
    {
        await ChangeAsync(custom =>
        {
            CurrentVersion(id, ifMatch);
            return custom.Models.FirstOrDefault(m => m.Id == id) is { } own
                ? custom with { Models = custom.Models.Replace(own, changeOwn(own)) }
                : changeOverride(custom);
        }, cancellationToken).ConfigureAwait(false);
        return Current.Find(id)!;
    }

    /// <summary>
    /// Attaches a LoRA adapter to a model served by <c>docker run</c> of vLLM if the model's version is still
    /// <paramref name="ifMatch"/>; the adapter's name must be free across the catalog. What lies on the Spark is checked
    /// by <see cref="LoraAdapterInspector"/> before this.
    /// </summary>
    public async Task<ModelDefinition> AttachAdapterAsync(string modelId, LoraAdapter adapter, string? ifMatch, CancellationToken cancellationToken)
    {
        var errors = adapter.Validate();
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        await ChangeAsync(custom =>
        {
            var model = CurrentVersion(modelId, ifMatch);
            if (LoraAdapterInspector.CannotServe(model) is { } refusal)
            {
                throw new SettingsConflictException(refusal);
            }

            if (model.Adapters.Any(a => a.Name == adapter.Name))
            {
                throw new SettingsConflictException($"{model.Id} already has an adapter named '{adapter.Name}'; remove it first or choose another name.");
            }

            // The base answers to its own names: an adapter by one of them could never be asked for.
            if (adapter.Name == model.ServedName || model.Aliases.Contains(adapter.Name))
            {
                throw new SettingsConflictException($"'{adapter.Name}' is a name of {model.Id} itself; the adapter needs a name of its own.");
            }

            if (ServedNames.Clash(model with { Adapters = model.Adapters.Add(adapter) }, Current.Models) is { } clash)
            {
                throw new SettingsConflictException($"The {clash}; choose another name.");
            }

            return custom with { Adapters = custom.Adapters.Add(new AttachedAdapter(model.Id, adapter)) };
        }, cancellationToken).ConfigureAwait(false);
        return Current.Find(modelId)!;
    }

    /// <summary>Detaches the adapter <paramref name="name"/> from a model if the model's version is still <paramref name="ifMatch"/>.</summary>
    public async Task<ModelDefinition> DetachAdapterAsync(string modelId, string name, string? ifMatch, CancellationToken cancellationToken)
    {
        await ChangeAsync(custom =>
        {
            var model = CurrentVersion(modelId, ifMatch);
            var attached = custom.Adapters.FirstOrDefault(a => a.ModelId == model.Id && a.Adapter.Name == name)
                ?? throw new KeyNotFoundException($"{model.Id} has no adapter named '{name}'.");
            return custom with { Adapters = custom.Adapters.Remove(attached) };
        }, cancellationToken).ConfigureAwait(false);
        return Current.Find(modelId)!;
    }

    private ModelDefinition CurrentVersion(string id, string? ifMatch)
    {
        var current = Current.Find(id) ?? throw new KeyNotFoundException($"No model has the id '{id}'.");
        var version = Version(current);
        return ifMatch is not null && ifMatch != version ? throw new StaleVersionException(id, ifMatch, version) : current;
    }

    /// <summary>Removes an operator-added model (shipped and demo models stay; their overrides can be cleared).</summary>
    public Task RemoveAsync(string id, string? ifMatch, CancellationToken cancellationToken) =>
        ChangeAsync(custom =>
        {
            // A model left out for a name clash is in the file only, and deleting it is one way to resolve the clash.
            var current = Current.Find(id) ?? custom.Models.FirstOrDefault(m => m.Id == id) ?? throw new KeyNotFoundException($"No model has the id '{id}'.");
            if (ifMatch is not null && ifMatch != Version(current))
            {
                throw new StaleVersionException(id, ifMatch, Version(current));
            }

            var own = custom.Models.FirstOrDefault(m => m.Id == id)
                ?? throw new SettingsConflictException($"{id} comes with {(current.Origin == ModelOrigin.Demo ? "the demo" : "models.yaml")} and cannot be deleted; only models added here can.");
            return custom with { Models = custom.Models.Remove(own), Adapters = custom.Adapters.RemoveAll(a => a.ModelId == id) };
        }, cancellationToken);

    /// <summary>Every rule a new model must meet, as field errors.</summary>
    public static IReadOnlyList<FieldError> Validate(ModelDefinition model)
    {
        var errors = new List<FieldError>();
        void Check(string field, string? error)
        {
            if (error is not null)
            {
                errors.Add(new FieldError(field, error));
            }
        }

        Check("id", Validators.ModelId(model.Id));
        Check("servedName", Validators.ServedName(model.ServedName));
        foreach (var alias in model.Aliases)
        {
            Check("aliases", Validators.ServedName(alias, "alias"));
        }

        switch (model.Source)
        {
            case HuggingFaceSource hf:
                Check("repo", Validators.HfRepoId(hf.Repo));
                Check("revision", Validators.HfRevision(hf.Revision));
                break;
            case LocalSource local:
                Check("spark", Validators.Name(local.Spark, "spark"));
                Check("path", Validators.AbsolutePath(local.Path));
                break;
        }

        Check("port", Validators.Port(model.Port));
        Check("idleUnloadAfter", Validators.IdleUnloadAfter(model.IdleUnloadAfter));
        if (model.Image is not null)
        {
            Check("image", SparkValidation.ImageReference(model.Image));
        }

        if (model.NimCache is not null)
        {
            Check("cacheDir", Validators.HomeOrAbsolutePath(model.NimCache, "cacheDir"));
        }

        errors.AddRange(VllmFlagRules.Validate(model.Flags));
        return errors;
    }

    private async Task ChangeAsync(Func<CustomCatalog, CustomCatalog> change, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The file may have been edited by hand since it was read: start from what is on disk, so the edit is kept,
            // or, if it broke the file, reported and left alone.
            var (onDisk, problems, text) = LoadCustom();
            if (text != _customText || !problems.IsEmpty)
            {
                lock (_gate)
                {
                    (_custom, _customProblems, _customText) = (onDisk, problems, text);
                }

                Publish();
            }

            if (!problems.IsEmpty)
            {
                throw new ConfigFileException(CustomFilePath, problems);
            }

            var updated = change(onDisk);
            var written = Write(updated);
            await _dataDirectory.WriteAtomicAsync(CustomFileName, written, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                (_custom, _customText) = (updated, written);
            }

            Publish();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void Publish()
    {
        lock (_gate)
        {
            // Precedence: an operator model replaces a shipped or demo one with the same id; overrides then set flags.
            var own = _custom.Models.ToDictionary(m => m.Id, StringComparer.Ordinal);
            var models = ImmutableArray.CreateBuilder<ModelDefinition>();
            foreach (var model in _demo.Concat(_shipped))
            {
                if (own.Remove(model.Id, out var replacement))
                {
                    models.Add(replacement);
                }
                else
                {
                    var flagged = _custom.Overrides.TryGetValue(model.Id, out var flags) ? model with { Flags = flags } : model;
                    models.Add(_custom.IdleOverrides.TryGetValue(model.Id, out var idle) ? flagged with { IdleUnloadAfter = CustomCatalog.IdleFromOverride(idle) } : flagged);
                }
            }

            models.AddRange(_custom.Models.Where(m => own.ContainsKey(m.Id)));
            var adapters = _custom.Adapters.ToLookup(a => a.ModelId, a => a.Adapter, StringComparer.Ordinal);
            for (var i = 0; i < models.Count; i++)
            {
                if (adapters.Contains(models[i].Id))
                {
                    models[i] = models[i] with { Adapters = [.. adapters[models[i].Id]] };
                }
            }

            // A model whose names clash is left out and reported, so the gateway never has to guess; operator models
            // are checked last, so a clash hides the model added here rather than a shipped one.
            var kept = new List<ModelDefinition>();
            var leftOut = new HashSet<ModelDefinition>(ReferenceEqualityComparer.Instance);
            var clashes = new List<ConfigProblem>();
            foreach (var model in models.OrderBy(m => m.Origin == ModelOrigin.Custom))
            {
                if (ServedNames.Clash(model, kept) is { } clash)
                {
                    leftOut.Add(model);
                    clashes.Add(new ConfigProblem(SourceFile(model), null, $"model '{model.Id}' is left out of the catalog: {clash}"));
                }
                else
                {
                    kept.Add(model);
                }
            }

            _catalog.Publish(new CatalogSnapshot([.. models.Where(m => !leftOut.Contains(m))], _shippedProblems.AddRange(_customProblems).AddRange(clashes)));
        }
    }

    private string SourceFile(ModelDefinition model) => model.Origin switch
    {
        ModelOrigin.Custom => CustomFilePath,
        ModelOrigin.Demo => "demo-models.yaml",
        _ => "models.yaml",
    };

    private (CustomCatalog Custom, ImmutableArray<ConfigProblem> Problems, string? Text) LoadCustom()
    {
        var path = CustomFilePath;
        try
        {
            if (!File.Exists(path))
            {
                return (CustomCatalog.Empty, [], null);
            }

            var text = File.ReadAllText(path);
            var (custom, problems) = CustomCatalog.Read(text, path);
            return (custom, problems, text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (CustomCatalog.Empty, [new ConfigProblem(path, null, $"cannot be read ({DataDirectory.Describe(ex)}); added models and flag overrides are off until it can")], null);
        }
    }

    private static string Write(CustomCatalog custom) => new YamlWriter()
        .Add("models", custom.Models.Select(CatalogYaml.WriteModel))
        .Add("overrides", custom.Overrides.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => new YamlWriter().Add("id", o.Key).Add("vllm", CatalogYaml.WriteFlags(o.Value))))
        .AddIf(!custom.Adapters.IsEmpty, "adapters", custom.Adapters.Select(a => CatalogYaml.WriteAdapter(a.ModelId, a.Adapter)))
        .AddIf(!custom.IdleOverrides.IsEmpty, "idleUnload", custom.IdleOverrides.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => new YamlWriter().Add("id", o.Key).Add("after", o.Value)))
        .ToYaml("Models added and flags changed from Spark Control's Models page. Written by the panel; see README, \"Model catalog\".");
}

/// <summary>A LoRA adapter and the id of the model that serves it.</summary>
public sealed record AttachedAdapter(string ModelId, LoraAdapter Adapter);

/// <summary>What <c>models.custom.yaml</c> holds: added models, per-model flag and idle overrides, attached adapters.</summary>
public sealed record CustomCatalog(ImmutableArray<ModelDefinition> Models, ImmutableDictionary<string, VllmFlags> Overrides)
{
    public static readonly CustomCatalog Empty = new([], ImmutableDictionary<string, VllmFlags>.Empty);

    /// <summary>Idle times set here for shipped and demo models; zero turns off one models.yaml sets.</summary>
    public ImmutableDictionary<string, TimeSpan> IdleOverrides { get; init; } = ImmutableDictionary<string, TimeSpan>.Empty;

    /// <summary>LoRA adapters attached to models (operator, shipped or demo), in the order they were attached.</summary>
    public ImmutableArray<AttachedAdapter> Adapters { get; init; } = [];

    public static TimeSpan? IdleFromOverride(TimeSpan after) => after == TimeSpan.Zero ? null : after;

    public static (CustomCatalog, ImmutableArray<ConfigProblem>) Read(string text, string file)
    {
        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, file, problems);
        var models = ImmutableArray.CreateBuilder<ModelDefinition>();
        foreach (var entry in root.Maps("models"))
        {
            if (CatalogYaml.ReadModel(entry, ModelOrigin.Custom) is { } model)
            {
                models.Add(model);
            }
        }

        var overrides = ImmutableDictionary.CreateBuilder<string, VllmFlags>(StringComparer.Ordinal);
        foreach (var entry in root.Maps("overrides"))
        {
            var id = entry.String("id", required: true);
            var flags = CatalogYaml.ReadFlags(entry.Map("vllm"));
            entry.RejectUnknown();
            if (id is not null)
            {
                overrides[id] = flags;
            }
        }

        var idle = ImmutableDictionary.CreateBuilder<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var entry in root.Maps("idleUnload"))
        {
            var id = entry.String("id", required: true);
            var given = entry.Has("after");
            var after = entry.Duration("after");
            if (!given)
            {
                entry.Problem("'after' is required: the idle time, like 00:30:00 (00:00:00 turns off one models.yaml sets)");
            }
            else if (after is { } value && value != TimeSpan.Zero && Validators.IdleUnloadAfter(value, "after") is { } error)
            {
                entry.ProblemAt("after", error);
            }
            else if (id is not null && after is { } valid)
            {
                // A value that is not a duration was reported by Duration and is left out, never read as "off".
                idle[id] = valid;
            }

            entry.RejectUnknown();
        }

        var adapters = root.Maps("adapters").Select(CatalogYaml.ReadAdapter).OfType<AttachedAdapter>().ToImmutableArray();
        root.RejectUnknown();
        return (new CustomCatalog(models.ToImmutable(), overrides.ToImmutable()) { IdleOverrides = idle.ToImmutable(), Adapters = adapters }, [.. problems]);
    }
}
