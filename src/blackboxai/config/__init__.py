"""Settings from every source: the option registry, YAML files (the user's, and a project's, which
can only make things more private), variables and the command line; where a path may lead."""
