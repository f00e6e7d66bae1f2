namespace SparkControl.Core.Catalog;

/// <summary>
/// The gateway routes a request by its model name, so a served name must belong to one model only: it may be no
/// other model's served name or alias. Aliases may be shared (the demo's <c>default-chat</c> follows whichever of its
/// models is loaded).
/// </summary>
public static class ServedNames
{
    /// <summary>Why <paramref name="model"/>'s names clash with one of <paramref name="others"/> (same id excepted), or null.</summary>
    public static string? Clash(ModelDefinition model, IEnumerable<ModelDefinition> others)
    {
        foreach (var other in others.Where(o => o.Id != model.Id))
        {
            if (other.ServedName == model.ServedName)
            {
                return $"served name '{model.ServedName}' is already used by model '{other.Id}'";
            }

            if (other.Aliases.Contains(model.ServedName))
            {
                return $"served name '{model.ServedName}' is already an alias of model '{other.Id}'";
            }

            if (model.Aliases.Contains(other.ServedName))
            {
                return $"alias '{other.ServedName}' is already the served name of model '{other.Id}'";
            }

            if ((AdapterClash(model, other) ?? AdapterClash(other, model)) is { } adapter)
            {
                return adapter;
            }
        }

        return null;
    }

    /// <summary>An adapter of <paramref name="owner"/> named like one of <paramref name="other"/>'s names or adapters.</summary>
    private static string? AdapterClash(ModelDefinition owner, ModelDefinition other)
    {
        foreach (var adapter in owner.Adapters)
        {
            if (adapter.Name == other.ServedName || other.Aliases.Contains(adapter.Name) || other.Adapters.Any(a => a.Name == adapter.Name))
            {
                return $"adapter name '{adapter.Name}' of model '{owner.Id}' is already a name of model '{other.Id}'";
            }
        }

        return null;
    }
}
