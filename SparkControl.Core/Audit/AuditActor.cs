namespace SparkControl.Core.Audit;

/// <summary>Who did something: a user's name or <c>key:name</c>, and the address they came from when known.</summary>
public readonly record struct AuditActor(string Name, string? Address = null)
{
    /// <summary>Code that acts on its own (the demo, a restart's recovery) names itself.</summary>
    public static implicit operator AuditActor(string name) => new(name);

    public override string ToString() => Name;
}
