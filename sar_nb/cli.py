__all__ = ['sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train', 'sar_train']

# %% ../nbs/04_train.ipynb #0e58bf3c
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #4c39765e
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #4c39765e
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #7138e389
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #bae752b4
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #b21b0bee
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #d5106cad
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #70fd1e72
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #48f878b2
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #48f878b2
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #da50e73f
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #23b5af97
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #3d32655f
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #76be4f21
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #11165777
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())

# %% ../nbs/04_train.ipynb #11165777
import sys, warnings

def sar_train():
    "Entry point of the `sar-train` console script"
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from sar_nb.train import main
    sys.exit(main())